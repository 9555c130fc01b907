//! Commands of the mgr `dashboard` module. Some answer in plain text rather than
//! JSON, whatever `format` says; passwords travel as input data (the CLI's `-i`).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::command::{Command, MgrCommand};

fn text(outbuf: &[u8]) -> String {
    String::from_utf8_lossy(outbuf).trim().to_owned()
}

/// `ceph dashboard create-self-signed-cert`: lets the dashboard serve HTTPS.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DashboardCreateSelfSignedCert;

impl Command for DashboardCreateSelfSignedCert {
    const PREFIX: &'static str = "dashboard create-self-signed-cert";
    /// The module's message, e.g. "Self-signed certificate created".
    type Reply = String;

    fn parse_reply(outbuf: &[u8]) -> Result<String, serde_json::Error> {
        Ok(text(outbuf))
    }
}
impl MgrCommand for DashboardCreateSelfSignedCert {}

/// `ceph dashboard ac-user-create <username> -i <password-file> [<rolename>]`.
/// Pacific takes at most one role here: more than one is refused before sending;
/// add the others with [`DashboardAcUserAddRoles`]. Weak passwords fail with EINVAL.
#[derive(Clone)]
pub struct DashboardAcUserCreate {
    pub username: String,
    pub password: String,
    /// e.g. `["administrator"]`; empty for a user without roles.
    pub roles: Vec<String>,
}

impl Serialize for DashboardAcUserCreate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Args<'a> {
            username: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            rolename: Option<&'a str>,
        }
        if self.roles.len() > 1 {
            return Err(serde::ser::Error::custom(
                "Pacific's ac-user-create takes one role; add the others with ac-user-add-roles",
            ));
        }
        let rolename = self.roles.first().map(String::as_str);
        Args {
            username: &self.username,
            rolename,
        }
        .serialize(s)
    }
}

impl fmt::Debug for DashboardAcUserCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashboardAcUserCreate")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// Ceph reports an existing user as a *success* with a message (not EEXIST), so the
/// reply tells the two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AcUserCreated {
    Created,
    AlreadyExists,
}

impl Command for DashboardAcUserCreate {
    const PREFIX: &'static str = "dashboard ac-user-create";
    type Reply = AcUserCreated;

    fn inbuf(&self) -> Vec<u8> {
        self.password.clone().into_bytes()
    }

    fn parse_reply(outbuf: &[u8]) -> Result<AcUserCreated, serde_json::Error> {
        let reply = text(outbuf);
        if reply.starts_with('{') {
            Ok(AcUserCreated::Created)
        } else if reply.ends_with("already exists") {
            Ok(AcUserCreated::AlreadyExists)
        } else {
            Err(serde::de::Error::custom(format!(
                "unexpected dashboard reply: {reply}"
            )))
        }
    }
}
impl MgrCommand for DashboardAcUserCreate {}

/// `ceph dashboard ac-user-set-password <username> -i <password-file>`; ENOENT if the
/// user does not exist.
#[derive(Clone, Serialize)]
pub struct DashboardAcUserSetPassword {
    pub username: String,
    #[serde(skip)]
    pub password: String,
}

impl fmt::Debug for DashboardAcUserSetPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashboardAcUserSetPassword")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Command for DashboardAcUserSetPassword {
    const PREFIX: &'static str = "dashboard ac-user-set-password";
    type Reply = DashboardUser;

    fn inbuf(&self) -> Vec<u8> {
        self.password.clone().into_bytes()
    }
}
impl MgrCommand for DashboardAcUserSetPassword {}

/// `ceph dashboard ac-user-add-roles <username> <roles...>`.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardAcUserAddRoles {
    pub username: String,
    pub roles: Vec<String>,
}

impl Command for DashboardAcUserAddRoles {
    const PREFIX: &'static str = "dashboard ac-user-add-roles";
    type Reply = DashboardUser;
}
impl MgrCommand for DashboardAcUserAddRoles {}

/// A dashboard user as the module prints it (the password hash is left out).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DashboardUser {
    pub username: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::encode;
    use serde_json::json;

    const USER: &[u8] = br#"{"username": "admin2", "password": "$2b$12$x", "roles": ["administrator"], "name": null, "email": null, "lastUpdate": 1795563665, "enabled": true, "pwdExpirationDate": null, "pwdUpdateRequired": false}
"#;

    #[test]
    fn user_create_sends_password_as_inbuf() {
        let cmd = DashboardAcUserCreate {
            username: "admin".into(),
            password: "Secret-pass-123".into(),
            roles: vec!["administrator".into()],
        };
        assert_eq!(
            encode(&cmd).unwrap(),
            json!({"prefix": "dashboard ac-user-create", "format": "json", "username": "admin", "rolename": "administrator"})
        );
        assert_eq!(cmd.inbuf(), b"Secret-pass-123");
        assert!(!format!("{cmd:?}").contains("Secret"));
    }

    #[test]
    fn user_create_takes_at_most_one_role() {
        let mut cmd = DashboardAcUserCreate {
            username: "admin".into(),
            password: "p".into(),
            roles: vec![],
        };
        assert_eq!(encode(&cmd).unwrap().get("rolename"), None);
        cmd.roles = vec!["read-only".into(), "block-manager".into()];
        let err = encode(&cmd).unwrap_err();
        assert!(err.to_string().contains("ac-user-add-roles"), "{err}");
    }

    #[test]
    fn user_create_replies_from_pacific() {
        let parse = DashboardAcUserCreate::parse_reply;
        assert_eq!(parse(USER).unwrap(), AcUserCreated::Created);
        let exists = b"User 'admin2' already exists\n";
        assert_eq!(parse(exists).unwrap(), AcUserCreated::AlreadyExists);
        assert!(parse(b"something else").is_err());
    }

    #[test]
    fn set_password_and_roles() {
        let cmd = DashboardAcUserSetPassword {
            username: "admin".into(),
            password: "Other-pass-456".into(),
        };
        assert_eq!(
            encode(&cmd).unwrap(),
            json!({"prefix": "dashboard ac-user-set-password", "format": "json", "username": "admin"})
        );
        assert_eq!(cmd.inbuf(), b"Other-pass-456");
        assert!(!format!("{cmd:?}").contains("Other-pass"));
        let user = DashboardAcUserSetPassword::parse_reply(USER).unwrap();
        assert_eq!(user.roles, ["administrator"]);
        let add = DashboardAcUserAddRoles {
            username: "admin".into(),
            roles: vec!["read-only".into()],
        };
        assert_eq!(encode(&add).unwrap()["roles"], json!(["read-only"]));
    }

    #[test]
    fn self_signed_cert() {
        assert_eq!(
            encode(&DashboardCreateSelfSignedCert).unwrap(),
            json!({"prefix": "dashboard create-self-signed-cert", "format": "json"})
        );
        assert_eq!(
            DashboardCreateSelfSignedCert::parse_reply(b"Self-signed certificate created\n")
                .unwrap(),
            "Self-signed certificate created"
        );
    }
}
