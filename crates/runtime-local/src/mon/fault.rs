//! Cutting a loopback address off, to take one mon out as a partitioned
//! host would be (tests, `rookery bench mons`). A `prohibit` route on the
//! address in the local routing table makes connects to it fail at once
//! (EACCES) and binds on it fail (EADDRNOTAVAIL); with each mon on its own
//! address (`spec.network.firstMonAddress`, which also turns on
//! `ms_bind_before_connect` for the mons) the mon's own connections fail
//! too, while its process runs on. Needs root (CAP_NET_ADMIN).

use std::net::Ipv4Addr;
use std::process::Command;

use crate::error::{Error, Result};

/// A loopback address cut off until dropped (or healed).
#[derive(Debug)]
pub struct LoopbackCut {
    addr: Ipv4Addr,
    active: bool,
}

impl LoopbackCut {
    /// Cuts `addr` (in 127.0.0.0/8) off.
    pub fn cut(addr: Ipv4Addr) -> Result<Self> {
        if addr.octets()[0] != 127 || addr == Ipv4Addr::LOCALHOST {
            return Err(Error::Refused(format!(
                "{addr}: only a mon's own loopback address (127.x.y.z, not 127.0.0.1) is cut off"
            )));
        }
        // A route left by an earlier, killed run on the same address.
        let _ = route("del", addr);
        route("add", addr)?;
        Ok(Self { addr, active: true })
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Restores the address (also done on drop).
    pub fn heal(&mut self) -> Result<()> {
        if self.active {
            self.active = false;
            route("del", self.addr)?;
        }
        Ok(())
    }
}

impl Drop for LoopbackCut {
    fn drop(&mut self) {
        if let Err(e) = self.heal() {
            tracing::error!(addr = %self.addr, error = %e, "cannot remove the route that cut the address off");
        }
    }
}

/// A `127.x.y.1` for a throwaway cluster's first mon, `x` from `second`
/// (tests and benchmarks take separate ranges, so a route one adds never
/// touches the other's mons), `y` random.
pub fn random_first_mon_address(second: std::ops::RangeInclusive<u8>) -> Ipv4Addr {
    let r = uuid::Uuid::new_v4().as_u128();
    let (lo, hi) = (*second.start(), *second.end());
    let span = u128::from(hi.saturating_sub(lo)) + 1;
    Ipv4Addr::new(127, lo + (r % span) as u8, ((r >> 8) % 256) as u8, 1)
}

fn route(op: &str, addr: Ipv4Addr) -> Result<()> {
    let dest = format!("{addr}/32");
    let out = Command::new("ip")
        .args(["route", op, "prohibit", &dest, "table", "local"])
        .output()
        .map_err(|e| Error::Refused(format!("cannot run `ip` (iproute2): {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "ip route {op} prohibit {dest} table local failed: {} (cutting an address off needs root)",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
