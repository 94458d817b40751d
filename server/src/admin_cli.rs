//! Operator commands on the binary: `user create|passwd|disable|enable|login-link`,
//! `project create|add-member`, `token create|revoke`. They open the configured database
//! directly and act as the local operator (`cli` in the security log).

use std::io::BufRead;

use anyhow::{Context, bail};
use ch_api::{GlobalRole, ProjectRole, Scope};
use clap::Subcommand;

use crate::auth::{Auth, NewToken};
use crate::settings::Settings;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin (one line) with --password-stdin;
    /// without it the user signs in through `user login-link`.
    Create {
        name: String,
        /// admin, scientist or viewer.
        #[arg(long, default_value = "scientist")]
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (read from stdin, one line); signs out their sessions.
    Passwd { name: String },
    /// Disable a user: their sessions and API tokens stop working at once.
    Disable { name: String },
    /// Enable a disabled user again.
    Enable { name: String },
    /// Print a one-time sign-in link for a user.
    LoginLink {
        name: String,
        /// The server's address as users reach it.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        base_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        name: String,
        /// Readable by every signed-in user (and anonymous visitors under auth.public_read).
        #[arg(long)]
        public: bool,
    },
    /// Add a member to a project, or change their role.
    AddMember {
        project: String,
        user: String,
        /// owner, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (shown once).
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Comma-separated: read, submit, admin.
        #[arg(long, default_value = "read,submit")]
        scopes: String,
        /// Restrict the token to one project.
        #[arg(long)]
        project: Option<String>,
        /// Expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token by id.
    Revoke { id: uuid::Uuid },
}

async fn open(settings: &Settings) -> anyhow::Result<Auth> {
    tokio::fs::create_dir_all(&settings.data_dir).await.ok();
    let store = Store::connect(&settings.database_url())
        .await
        .context("opening the database")?;
    Auth::open(store, settings).await
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn role<T>(raw: &str, parse: fn(&str) -> Option<T>, choices: &str) -> anyhow::Result<T> {
    parse(raw).with_context(|| format!("unknown role '{raw}' (one of {choices})"))
}

/// Runs a `user` command.
pub async fn user(settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let auth = open(settings).await?;
    let op = Auth::operator();
    match cmd {
        UserCommand::Create {
            name,
            role: r,
            password_stdin,
        } => {
            let r = role(&r, GlobalRole::parse, "admin, scientist, viewer")?;
            let password = password_stdin.then(read_password).transpose()?;
            auth.create_user(&op, &name, password.as_deref(), r).await?;
            println!("created user {name} ({r})");
        }
        UserCommand::Passwd { name } => {
            auth.set_password(&op, &name, &read_password()?).await?;
            println!("password of {name} changed; their sessions were signed out");
        }
        UserCommand::Disable { name } => {
            auth.set_disabled(&op, &name, true).await?;
            println!("disabled {name}; their sessions and tokens were revoked");
        }
        UserCommand::Enable { name } => {
            auth.set_disabled(&op, &name, false).await?;
            println!("enabled {name}");
        }
        UserCommand::LoginLink { name, base_url } => {
            let user = auth
                .store()
                .user_by_name(&name)
                .await?
                .with_context(|| format!("no user '{name}'"))?;
            let link = auth.login_link(user.user_id).await?;
            println!("{}{link}", base_url.trim_end_matches('/'));
        }
    }
    Ok(())
}

/// Runs a `project` command.
pub async fn project(settings: &Settings, cmd: ProjectCommand) -> anyhow::Result<()> {
    let auth = open(settings).await?;
    let op = Auth::operator();
    match cmd {
        ProjectCommand::Create { name, public } => {
            auth.create_project(&op, &name, public).await?;
            println!("created project {name}{}", if public { " (public)" } else { "" });
        }
        ProjectCommand::AddMember { project, user, role: r } => {
            let r = role(&r, ProjectRole::parse, "owner, member, viewer")?;
            auth.set_member(&op, &project, &user, r).await?;
            println!("{user} is now {r} of {project}");
        }
    }
    Ok(())
}

/// Runs a `token` command.
pub async fn token(settings: &Settings, cmd: TokenCommand) -> anyhow::Result<()> {
    let auth = open(settings).await?;
    match cmd {
        TokenCommand::Create {
            user,
            name,
            scopes,
            project,
            expires_in_days,
        } => {
            let scopes = scopes
                .split(',')
                .map(|s| Scope::parse(s.trim()).with_context(|| format!("unknown scope '{s}' (read, submit, admin)")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let req = NewToken {
                name,
                scopes,
                project,
                expires_in_days,
            };
            let (_, token) = auth.create_token_for(&user, req).await?;
            println!("{token}");
        }
        TokenCommand::Revoke { id } => {
            let Some(token) = auth.store().token(id).await? else {
                bail!("no token {id}");
            };
            auth.store().revoke_token(token.token_id, chrono::Utc::now()).await?;
            auth.record("token_revoked", "-", "cli", "cli", format!("token {id}"))
                .await;
            println!("revoked token {id}");
        }
    }
    Ok(())
}
