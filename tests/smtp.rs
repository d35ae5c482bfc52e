//! A real SMTP server for end-to-end mail tests: aiosmtpd (from PyPI) on a loopback
//! port, keeping every message it receives in a maildir. A recipient whose address
//! starts with `reject` is refused with `550` (no such user), as a real server does.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// aiosmtpd's maildir handler, refusing `reject…` recipients with a permanent 550.
const HANDLER: &str = r#"
from aiosmtpd.handlers import Mailbox

class RejectingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
"#;

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    /// Starts aiosmtpd on `port`. `None`, with the reason printed, when aiosmtpd is not
    /// installed (`pip install aiosmtpd`) — except under CI, where that is a failure.
    pub async fn start(port: u16) -> Option<SmtpServer> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but aiosmtpd is missing: pip install aiosmtpd");
            }
            eprintln!("skipping: no real SMTP server (pip install aiosmtpd to run this test)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("tsp-smtp-{port}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let handler_dir = dir.with_extension("handler");
        std::fs::create_dir_all(&handler_dir).unwrap();
        std::fs::write(handler_dir.join("tsp_smtp_handler.py"), HANDLER).unwrap();
        let child = Command::new("python3")
            .env("PYTHONPATH", &handler_dir)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "tsp_smtp_handler.RejectingMailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let server = SmtpServer { child, port, dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start listening on port {port}");
    }

    /// Every message received so far, as RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut found = vec![];
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) {
                for entry in entries.flatten() {
                    found.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
                }
            }
        }
        found
    }

    /// Waits (up to 10 s) until at least `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let found = self.messages();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.messages()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(self.dir.with_extension("handler"));
    }
}

/// The Message-ID header of an RFC 5322 message.
pub fn message_id(message: &str) -> Option<String> {
    message
        .lines()
        .find_map(|l| {
            l.strip_prefix("Message-ID: ")
                .or_else(|| l.strip_prefix("Message-Id: "))
        })
        .map(|v| v.trim().to_string())
}

/// Undoes quoted-printable soft line breaks and `=3D`, enough to read links in a body.
pub fn unfold_quoted_printable(body: &str) -> String {
    body.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}
