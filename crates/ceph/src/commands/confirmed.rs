//! The CLI's `--yes-i-really-mean-it`, as a wrapper: a plain request stays safe by
//! default and a caller opts in visibly at the call site.

use serde::{Serialize, Serializer};

use crate::command::{Command, MgrCommand, MonCommand};

/// Sends `C` with `yes_i_really_mean_it: true`, e.g. `Confirmed(OsdPoolSet { .. })`
/// to set a pool's size to 1, or a second application on a pool.
#[derive(Debug, Clone)]
pub struct Confirmed<C>(pub C);

impl<C: Serialize> Serialize for Confirmed<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Args<'a, C> {
            #[serde(flatten)]
            cmd: &'a C,
            yes_i_really_mean_it: bool,
        }
        Args {
            cmd: &self.0,
            yes_i_really_mean_it: true,
        }
        .serialize(s)
    }
}

impl<C: Command> Command for Confirmed<C> {
    const PREFIX: &'static str = C::PREFIX;
    type Reply = C::Reply;

    fn inbuf(&self) -> Vec<u8> {
        self.0.inbuf()
    }

    fn parse_reply(outbuf: &[u8]) -> Result<C::Reply, serde_json::Error> {
        C::parse_reply(outbuf)
    }
}

impl<C: MonCommand> MonCommand for Confirmed<C> {}
impl<C: MgrCommand> MgrCommand for Confirmed<C> {}
