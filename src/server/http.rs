//! Just enough HTTP/1.1 for the credentials server: one request per connection, a head of at
//! most 16 KiB read within a few seconds in all, a JSON answer, and the connection closed.
//! Clients are AWS SDKs on this machine; anything else gets an error, never a hang of rolesh.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const MAX_HEAD: u64 = 16 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

pub struct Request {
    pub method: String,
    pub path: String,
    /// The `Authorization` header, as sent.
    pub authorization: Option<String>,
}

/// A stream whose reads all end by one deadline: a per-read timeout alone would let a client
/// that sends a byte every few seconds hold a connection for hours, and enough of them would
/// leave the SDKs no room.
struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the request took too long"));
        }
        self.stream.set_read_timeout(Some(left))?;
        // A read that times out says WouldBlock on Unix, TimedOut on Windows: one kind here.
        (&mut &*self.stream).read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => io::Error::new(io::ErrorKind::TimedOut, "the request took too long"),
            _ => e,
        })
    }
}

/// Reads one request's head (the body, if any, is not needed).
pub fn read_request(stream: &TcpStream) -> io::Result<Request> {
    read_request_within(stream, TIMEOUT)
}

fn read_request_within(stream: &TcpStream, timeout: Duration) -> io::Result<Request> {
    stream.set_write_timeout(Some(timeout))?;
    let timed = Deadline { stream, until: Instant::now() + timeout };
    let mut reader = BufReader::new(timed.take(MAX_HEAD));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not an HTTP request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not HTTP/1.x"));
    }
    let (method, path) = (method.to_string(), path.to_string());
    let mut authorization = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the head ended early or was too long"));
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_string());
        }
    }
    Ok(Request { method, path, authorization })
}

/// Answers with `status` and a JSON `body`, then closes the connection.
pub fn respond(mut stream: &TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_client_trickling_bytes_is_cut_off_at_the_deadline_not_kept_for_hours() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            // One byte every 20 ms, each well within any per-read timeout.
            for _ in 0..200 {
                if s.write_all(b"G").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let (server_side, _) = listener.accept().unwrap();
        // Without the overall deadline this would read on until the client stops, 4 s later,
        // and end with the connection closing, not with a timeout.
        let err = read_request_within(&server_side, Duration::from_millis(300)).err().expect("no request in time");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(server_side);
        client.join().unwrap();
    }
}
