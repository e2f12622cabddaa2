//! `netshape`: a loopback TCP proxy that shapes and breaks links.
//!
//! Put a [`ShapedProxy`] between a client and a server to emulate the links
//! kader phones sync over (2G/3G: low bandwidth, long RTT, connections that die
//! mid-transfer):
//!
//! ```text
//! let proxy = ShapedProxy::start(server_addr, profile_2g()).await?;
//! let url = format!("http://{}/sync", proxy.addr());   // talk to the proxy, not the server
//! // ... run the client ...
//! let s = proxy.stats();                                 // bytes on the wire, connections, drops
//! proxy.set_profile(LinkProfile { drop: None, ..profile_2g() }); // e.g. heal the link
//! proxy.shutdown().await;
//! ```
//!
//! From blocking test code (e.g. `reqwest::blocking`), use [`start_blocking`]: it
//! returns a [`ShapedProxyHandle`] that owns its own one-worker Tokio runtime
//! thread, so it needs no runtime from the caller.
//!
//! # Link model
//!
//! Each connection accepted on `127.0.0.1:<port>` opens one connection to the
//! target. The two directions (upstream = client→target, downstream =
//! target→client) are independent links, each with:
//!
//! * **bandwidth** (`bandwidth_bps`, per direction): serialization delay. Data
//!   read from one side is cut into segments (~20 ms of air time each, 256 B to
//!   16 KiB); a segment of `n` bytes occupies the link for `n*8/bps` seconds,
//!   segments go out back to back in order. The proxy reads at most ~20 ms
//!   ahead of the link (plus one read of ≤16 KiB), so a fast sender is held
//!   back by TCP backpressure as on a real link.
//! * **latency** (`one_way_latency`): each segment is delivered at
//!   `time it finished going out + one_way_latency`. Segments are pipelined:
//!   throughput is governed by bandwidth, not by `segment/latency`. FIN
//!   (half-close) is delayed the same way, after the last data.
//!
//! Bandwidth and latency are read from the current profile for every read, so
//! [`ShapedProxy::set_profile`] also affects open connections.
//! The TCP handshake itself is **not** delayed (connect to the proxy completes
//! at once); the first data pays the latency.
//!
//! # Closing
//!
//! * A side that closes (EOF) is half-closed on the other side (`shutdown(Write)`)
//!   once the data before it has been delivered; the connection ends when both
//!   directions have seen EOF. HTTP/1.1 keep-alive works through the proxy.
//! * An I/O error on either side (reset, broken pipe) aborts the connection:
//!   both sockets are closed with `SO_LINGER=0`, i.e. the peers see a reset.
//! * A [`DropRule`] cut closes both sockets the same abrupt way (RST); the peer
//!   typically reads the bytes forwarded so far and then gets
//!   `ConnectionReset` (or EOF). It counts in `dropped_connections`.
//!
//! # Stats
//!
//! [`LinkStats`] counts the bytes handed to the destination socket in each
//! direction (everything on the wire: HTTP headers, chunk framing, ...),
//! accepted connections, and connections cut by a [`DropRule`]. Bytes are
//! counted just *before* each write, so once a peer has received data it is
//! already counted (stats can be read right after a request completes); the
//! last segment of a connection that fails with an I/O error may be counted
//! although it was not delivered.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// How a link behaves. Cheap to clone; change it at runtime with
/// [`ShapedProxy::set_profile`]. [`LinkProfile::default`] is an unshaped link.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkProfile {
    /// Bits per second, applied to each direction separately. `None` = unlimited.
    /// `Some(0)` is treated as 1 bit/s (a stalled link).
    pub bandwidth_bps: Option<u64>,
    /// Delay added to the delivery of every segment (RTT = 2 × this).
    pub one_way_latency: Duration,
    /// How connections get cut, if at all.
    pub drop: Option<DropRule>,
}

impl LinkProfile {
    /// A link with no bandwidth limit, no latency and no drops.
    pub fn unshaped() -> Self {
        Self::default()
    }

    /// The same link with another drop rule.
    pub fn with_drop(self, drop: Option<DropRule>) -> Self {
        Self { drop, ..self }
    }
}

/// How connections are cut. A cut closes both sockets abruptly (RST).
#[derive(Clone, Debug, PartialEq)]
pub enum DropRule {
    /// On every connection, cut as soon as `N` bytes have been forwarded in that
    /// direction (upstream = client→target, downstream = target→client). The
    /// peer receives exactly the first `N` bytes. Counted per connection from
    /// its start, or — for a connection already open when this profile was set
    /// with [`ShapedProxy::set_profile`] — from that moment, so setting
    /// `downstream: Some(5000)` cuts the next response on a pooled keep-alive
    /// connection 5000 bytes in. Checked at each write.
    AfterBytes { upstream: Option<u64>, downstream: Option<u64> },
    /// Each new connection is chosen with `probability_per_connection`
    /// (clamped to 0..=1). For a chosen connection a direction is picked
    /// (50/50) and the connection is cut at a uniformly random byte offset
    /// `k` in `0..len` of the *first message* in that direction — the first
    /// read from that side (for HTTP: the request head/body, or the response,
    /// as far as it arrived in one read) — so the peer gets `k` bytes then a
    /// reset. Decisions come from a `StdRng` seeded with `seed` when the
    /// profile is set (at start and on every `set_profile`), drawn in accept
    /// order: deterministic for sequential connections. A chosen connection is
    /// spared if the profile no longer has a `Random` rule when its first
    /// message arrives.
    Random { probability_per_connection: f64, seed: u64 },
}

/// Counters since start (or the last [`ShapedProxy::reset_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Bytes forwarded client→target (on the wire, incl. protocol headers).
    pub bytes_up: u64,
    /// Bytes forwarded target→client.
    pub bytes_down: u64,
    /// Connections accepted from clients.
    pub connections: u64,
    /// Connections cut by a [`DropRule`] (not counting ordinary closes or errors).
    pub dropped_connections: u64,
}

/// 2G (EDGE-ish): 50 kbit/s each way, 250 ms one-way latency (500 ms RTT), no drops.
pub fn profile_2g() -> LinkProfile {
    LinkProfile { bandwidth_bps: Some(50_000), one_way_latency: Duration::from_millis(250), drop: None }
}

/// Size of one read from a socket.
const READ_BUF: usize = 16 * 1024;
/// How far (in link time) the proxy may read ahead of the link's serialization.
const LOOKAHEAD: Duration = Duration::from_millis(20);
/// Segments in flight per direction (read but not yet delivered).
const CHANNEL_SEGMENTS: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

struct Shared {
    profile: Mutex<LinkProfile>,
    /// Bumped by every set_profile (restarts AfterBytes counting on open connections).
    generation: AtomicU64,
    rng: Mutex<StdRng>,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    connections: AtomicU64,
    dropped: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn rng_for(profile: &LinkProfile) -> StdRng {
    match profile.drop {
        Some(DropRule::Random { seed, .. }) => StdRng::seed_from_u64(seed),
        _ => StdRng::seed_from_u64(0),
    }
}

impl Shared {
    fn new(profile: LinkProfile) -> Self {
        Shared {
            rng: Mutex::new(rng_for(&profile)),
            profile: Mutex::new(profile),
            generation: AtomicU64::new(0),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    fn set_profile(&self, p: LinkProfile) {
        // Hold the profile lock while reseeding so accept sees a consistent pair.
        let mut cur = lock(&self.profile);
        *lock(&self.rng) = rng_for(&p);
        *cur = p;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// (bandwidth, one-way latency) now.
    fn shape(&self) -> (Option<u64>, Duration) {
        let p = lock(&self.profile);
        (p.bandwidth_bps, p.one_way_latency)
    }

    /// (AfterBytes limit for `dir`, profile generation).
    fn after_bytes_limit(&self, dir: Dir) -> (Option<u64>, u64) {
        let p = lock(&self.profile);
        let limit = match p.drop {
            Some(DropRule::AfterBytes { upstream, downstream }) => match dir {
                Dir::Up => upstream,
                Dir::Down => downstream,
            },
            _ => None,
        };
        (limit, self.generation.load(Ordering::SeqCst))
    }

    fn random_drop_active(&self) -> bool {
        matches!(lock(&self.profile).drop, Some(DropRule::Random { .. }))
    }

    /// Decide, for a newly accepted connection, whether (and where) the Random rule cuts it.
    fn cut_plan(&self) -> Option<CutPlan> {
        let p = lock(&self.profile);
        let Some(DropRule::Random { probability_per_connection, .. }) = p.drop else {
            return None;
        };
        let prob = if probability_per_connection.is_nan() { 0.0 } else { probability_per_connection.clamp(0.0, 1.0) };
        let mut rng = lock(&self.rng);
        if !rng.random_bool(prob) {
            return None;
        }
        let dir = if rng.random_bool(0.5) { Dir::Up } else { Dir::Down };
        let frac: f64 = rng.random(); // [0, 1)
        Some(CutPlan { dir, frac })
    }

    fn counter(&self, dir: Dir) -> &AtomicU64 {
        match dir {
            Dir::Up => &self.bytes_up,
            Dir::Down => &self.bytes_down,
        }
    }

    fn stats(&self) -> LinkStats {
        LinkStats {
            bytes_up: self.bytes_up.load(Ordering::SeqCst),
            bytes_down: self.bytes_down.load(Ordering::SeqCst),
            connections: self.connections.load(Ordering::SeqCst),
            dropped_connections: self.dropped.load(Ordering::SeqCst),
        }
    }

    fn reset_stats(&self) {
        self.bytes_up.store(0, Ordering::SeqCst);
        self.bytes_down.store(0, Ordering::SeqCst);
        self.connections.store(0, Ordering::SeqCst);
        self.dropped.store(0, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy, Debug)]
struct CutPlan {
    dir: Dir,
    frac: f64,
}

/// A running proxy listening on `127.0.0.1:<ephemeral>`, forwarding to one target.
///
/// Dropping it stops accepting and closes all its connections (asynchronously,
/// on its runtime); [`ShapedProxy::shutdown`] does the same and waits for it.
pub struct ShapedProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl ShapedProxy {
    /// Bind `127.0.0.1:0` and start forwarding to `target` on the current Tokio runtime.
    pub async fn start(target: SocketAddr, profile: LinkProfile) -> anyhow::Result<ShapedProxy> {
        Self::start_on(&tokio::runtime::Handle::current(), target, profile)
    }

    /// Like [`ShapedProxy::start`], on the given runtime; does not block, needs no runtime context.
    pub fn start_on(
        rt: &tokio::runtime::Handle,
        target: SocketAddr,
        profile: LinkProfile,
    ) -> anyhow::Result<ShapedProxy> {
        let std_listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("netshape: bind 127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = {
            let _guard = rt.enter();
            TcpListener::from_std(std_listener)?
        };
        let shared = Arc::new(Shared::new(profile));
        let (stop, stop_rx) = oneshot::channel();
        let task = rt.spawn(accept_loop(listener, target, shared.clone(), stop_rx));
        Ok(ShapedProxy { addr, shared, stop, task })
    }

    /// The address clients should connect to (instead of the target).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters since start / the last reset.
    pub fn stats(&self) -> LinkStats {
        self.shared.stats()
    }

    /// Zero all counters (connections already open keep being counted from zero).
    pub fn reset_stats(&self) {
        self.shared.reset_stats()
    }

    /// The profile in force.
    pub fn profile(&self) -> LinkProfile {
        lock(&self.shared.profile).clone()
    }

    /// Replace the profile. Bandwidth/latency apply to data read from now on, on
    /// open connections too; `AfterBytes` is checked at each write, counting
    /// from now on open connections (so turning it off spares open keep-alive
    /// connections, and turning it on cuts their next transfer N bytes in);
    /// `Random` decisions are made per new connection with a fresh RNG seeded
    /// from the new rule.
    pub fn set_profile(&self, p: LinkProfile) {
        self.shared.set_profile(p)
    }

    /// Stop accepting, close all connections (normal close, not RST) and wait for it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            // Fires on shutdown() and when the ShapedProxy is dropped.
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            res = listener.accept() => match res {
                Ok((client, _)) => {
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    let plan = shared.cut_plan();
                    conns.spawn(run_conn(client, target, shared.clone(), plan));
                }
                // e.g. EMFILE: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
    drop(listener);
    conns.shutdown().await;
}

/// Why one direction stopped early; any of these aborts the whole connection.
#[derive(Debug)]
enum ConnEnd {
    Io,
    Dropped,
    Gone,
}

async fn run_conn(client: TcpStream, target: SocketAddr, shared: Arc<Shared>, plan: Option<CutPlan>) {
    let server = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(_) => {
            // Target down: the client sees a reset, like a refused connection mid-route.
            let _ = client.set_zero_linger();
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let (up_tx, mut up_rx) = mpsc::channel(CHANNEL_SEGMENTS);
    let (down_tx, mut down_rx) = mpsc::channel(CHANNEL_SEGMENTS);
    let cut = |d: Dir| plan.filter(|p| p.dir == d).map(|p| p.frac);

    let res = tokio::try_join!(
        pump_in(&mut cr, up_tx, &shared, cut(Dir::Up)),
        pump_out(&mut up_rx, &mut sw, Dir::Up, &shared),
        pump_in(&mut sr, down_tx, &shared, cut(Dir::Down)),
        pump_out(&mut down_rx, &mut cw, Dir::Down, &shared),
    );
    if let Err(end) = res {
        if matches!(end, ConnEnd::Dropped) {
            // Count before the RST goes out, so a peer that sees the reset sees the count.
            shared.dropped.fetch_add(1, Ordering::SeqCst);
        }
        // Abort: reunite the halves (dropping an OwnedWriteHalf would send FIN first)
        // and close with SO_LINGER=0 so both peers get a RST.
        for s in [cr.reunite(cw), sr.reunite(sw)].into_iter().flatten() {
            let _ = s.set_zero_linger();
        }
    }
}

enum Item {
    Data(Vec<u8>),
    /// Random drop: cut here.
    Cut,
    /// The source half-closed.
    Eof,
}

struct Seg {
    deliver_at: Instant,
    item: Item,
}

fn tx_time(bytes: usize, bps: Option<u64>) -> Duration {
    match bps {
        None => Duration::ZERO,
        Some(bps) => {
            let nanos = (bytes as u128 * 8 * 1_000_000_000) / bps.max(1) as u128;
            Duration::from_nanos(nanos.min(u64::MAX as u128) as u64)
        }
    }
}

/// ~20 ms of air time per segment, 256 B .. 16 KiB.
fn seg_size(bps: Option<u64>) -> usize {
    match bps {
        None => READ_BUF,
        Some(bps) => ((bps / 8 / 50) as usize).clamp(256, READ_BUF),
    }
}

/// Read one side, schedule each segment on the link, hand it to the writer.
async fn pump_in(
    src: &mut OwnedReadHalf,
    tx: mpsc::Sender<Seg>,
    shared: &Shared,
    mut cut: Option<f64>,
) -> Result<(), ConnEnd> {
    let mut buf = vec![0u8; READ_BUF];
    let mut link_free = Instant::now();
    loop {
        let n = src.read(&mut buf).await.map_err(|_: io::Error| ConnEnd::Io)?;
        let (bps, latency) = shared.shape();
        link_free = link_free.max(Instant::now());
        if n == 0 {
            let _ = tx.send(Seg { deliver_at: link_free + latency, item: Item::Eof }).await;
            return Ok(());
        }
        let mut data = &buf[..n];
        let mut cut_here = false;
        if let Some(frac) = cut.take() {
            if shared.random_drop_active() {
                let k = ((n as f64 * frac) as usize).min(n - 1);
                data = &buf[..k];
                cut_here = true;
            }
        }
        for chunk in data.chunks(seg_size(bps)) {
            // Back-to-back on the link: starts when the previous segment finished.
            link_free += tx_time(chunk.len(), bps);
            let seg = Seg { deliver_at: link_free + latency, item: Item::Data(chunk.to_vec()) };
            tx.send(seg).await.map_err(|_| ConnEnd::Gone)?;
        }
        if cut_here {
            let _ = tx.send(Seg { deliver_at: link_free + latency, item: Item::Cut }).await;
            return Ok(()); // the writer aborts the connection at delivery time
        }
        // Backpressure: don't read (much) ahead of what the link has sent.
        if let Some(wake) = link_free.checked_sub(LOOKAHEAD) {
            if wake > Instant::now() {
                tokio::time::sleep_until(wake).await;
            }
        }
    }
}

/// Deliver segments to the other side at their time; apply AfterBytes; propagate EOF.
async fn pump_out(
    rx: &mut mpsc::Receiver<Seg>,
    dst: &mut OwnedWriteHalf,
    dir: Dir,
    shared: &Shared,
) -> Result<(), ConnEnd> {
    // Bytes forwarded under the current profile generation.
    let mut generation = shared.generation.load(Ordering::SeqCst);
    let mut forwarded: u64 = 0;
    while let Some(seg) = rx.recv().await {
        if seg.deliver_at > Instant::now() {
            tokio::time::sleep_until(seg.deliver_at).await;
        }
        match seg.item {
            Item::Data(bytes) => {
                let (limit, current) = shared.after_bytes_limit(dir);
                if current != generation {
                    generation = current;
                    forwarded = 0;
                }
                let (data, cut) = match limit {
                    Some(limit) => {
                        let left = limit.saturating_sub(forwarded);
                        if bytes.len() as u64 >= left {
                            (&bytes[..left as usize], true)
                        } else {
                            (&bytes[..], false)
                        }
                    }
                    None => (&bytes[..], false),
                };
                if !data.is_empty() {
                    shared.counter(dir).fetch_add(data.len() as u64, Ordering::SeqCst);
                    dst.write_all(data).await.map_err(|_| ConnEnd::Io)?;
                    forwarded += data.len() as u64;
                }
                if cut {
                    return Err(ConnEnd::Dropped);
                }
            }
            Item::Cut => return Err(ConnEnd::Dropped),
            Item::Eof => {
                // Half-close; if the peer is already gone the other direction will notice.
                let _ = dst.shutdown().await;
                return Ok(());
            }
        }
    }
    // Reader stopped without EOF: it failed, and try_join! is already aborting.
    Err(ConnEnd::Gone)
}

/// A [`ShapedProxy`] that owns a background Tokio runtime (one worker thread),
/// for blocking test code. Not tied to any caller runtime: can be created,
/// used and dropped anywhere, also inside async code.
pub struct ShapedProxyHandle {
    proxy: Option<ShapedProxy>,
    rt: Option<tokio::runtime::Runtime>,
}

/// Start a proxy on its own background runtime thread; see [`ShapedProxyHandle`].
pub fn start_blocking(target: SocketAddr, profile: LinkProfile) -> anyhow::Result<ShapedProxyHandle> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("netshape")
        .enable_all()
        .build()
        .context("netshape: build runtime")?;
    let proxy = ShapedProxy::start_on(rt.handle(), target, profile)?;
    Ok(ShapedProxyHandle { proxy: Some(proxy), rt: Some(rt) })
}

impl ShapedProxyHandle {
    /// The proxy itself (addr, stats, set_profile, ...).
    pub fn proxy(&self) -> &ShapedProxy {
        self.proxy.as_ref().expect("proxy present until drop")
    }
    pub fn addr(&self) -> SocketAddr {
        self.proxy().addr()
    }
    pub fn stats(&self) -> LinkStats {
        self.proxy().stats()
    }
    pub fn reset_stats(&self) {
        self.proxy().reset_stats()
    }
    pub fn profile(&self) -> LinkProfile {
        self.proxy().profile()
    }
    pub fn set_profile(&self, p: LinkProfile) {
        self.proxy().set_profile(p)
    }
    /// Stop the proxy and its runtime. Outside async code this waits until all
    /// connections are closed; inside async code it only starts the shutdown.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let (Some(proxy), Some(rt)) = (self.proxy.take(), self.rt.take()) else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            rt.block_on(proxy.shutdown());
            rt.shutdown_timeout(Duration::from_secs(1));
        } else {
            drop(proxy);
            rt.shutdown_background();
        }
    }
}

impl Drop for ShapedProxyHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::time::Instant as StdInstant;

    /// Every test body is bounded, so a hang fails fast instead of stalling CI.
    async fn bounded<F: Future<Output = T>, T>(secs: u64, f: F) -> T {
        tokio::time::timeout(Duration::from_secs(secs), f).await.expect("test timed out")
    }

    /// Echo server: echoes until EOF, then half-closes.
    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let _ = s.set_nodelay(true);
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) => {
                                let _ = s.shutdown().await;
                                return;
                            }
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                            Err(_) => return,
                        }
                    }
                });
            }
        });
        addr
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    /// Read until EOF or error; returns the bytes and whether it ended in an error.
    async fn read_all(s: &mut (impl AsyncReadExt + Unpin)) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) => return (out, false),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => return (out, true),
            }
        }
    }

    /// Send `data` (writing concurrently), half-close, read the echo to the end.
    async fn echo_through(addr: SocketAddr, data: Vec<u8>) -> (Vec<u8>, bool) {
        // The proxy may reset the connection before connect() has even returned
        // (target down, cut at offset 0): that is a reset with no data.
        let Ok(s) = TcpStream::connect(addr).await else {
            return (Vec::new(), true);
        };
        let _ = s.set_nodelay(true);
        let (mut r, mut w) = s.into_split();
        let writer = tokio::spawn(async move {
            let _ = w.write_all(&data).await;
            let _ = w.shutdown().await;
            w // keep the half alive until the reader is done
        });
        let res = read_all(&mut r).await;
        let _ = writer.await;
        res
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn echo_counts_bytes_exactly_and_propagates_eof() {
        bounded(10, async {
            let proxy = ShapedProxy::start(echo_server().await, LinkProfile::unshaped()).await.unwrap();
            for _ in 0..3 {
                let data = pattern(10_000);
                let (got, err) = echo_through(proxy.addr(), data.clone()).await;
                assert!(!err, "clean EOF expected");
                assert_eq!(got, data);
            }
            let s = proxy.stats();
            assert_eq!(s, LinkStats { bytes_up: 30_000, bytes_down: 30_000, connections: 3, dropped_connections: 0 });
            proxy.reset_stats();
            assert_eq!(proxy.stats(), LinkStats::default());
            proxy.shutdown().await;
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn latency_adds_rtt_and_pipelines() {
        bounded(10, async {
            let lat = Duration::from_millis(150);
            let profile = LinkProfile { one_way_latency: lat, ..Default::default() };
            let proxy = ShapedProxy::start(echo_server().await, profile).await.unwrap();
            let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
            s.set_nodelay(true).unwrap();

            // One round trip.
            let t0 = StdInstant::now();
            s.write_all(b"x").await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            let rtt = t0.elapsed();
            assert!(rtt >= 2 * lat, "rtt {rtt:?} < 2x latency");
            assert!(rtt < 2 * lat + Duration::from_millis(300), "rtt {rtt:?} too long");

            // 20 messages sent 10 ms apart arrive pipelined: ~ 2*lat + 190 ms,
            // not 20 * lat (which would be 3 s).
            let (mut r, mut w) = s.into_split();
            let t0 = StdInstant::now();
            let writer = tokio::spawn(async move {
                for _ in 0..20 {
                    w.write_all(&[7u8; 100]).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                w
            });
            let mut got = vec![0u8; 2000];
            r.read_exact(&mut got).await.unwrap();
            let took = t0.elapsed();
            let _w = writer.await.unwrap();
            assert!(took >= 2 * lat + Duration::from_millis(190), "took {took:?}");
            assert!(took < Duration::from_millis(1500), "not pipelined: took {took:?}");
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bandwidth_limits_throughput() {
        bounded(15, async {
            // 25 kB at 100 kbit/s = 2.0 s each way; echo pipelines both directions.
            let profile = LinkProfile { bandwidth_bps: Some(100_000), ..Default::default() };
            let proxy = ShapedProxy::start(echo_server().await, profile).await.unwrap();
            let data = pattern(25_000);
            let t0 = StdInstant::now();
            let (got, err) = echo_through(proxy.addr(), data.clone()).await;
            let took = t0.elapsed();
            assert!(!err);
            assert_eq!(got, data);
            assert!(took >= Duration::from_millis(1800), "too fast: {took:?}");
            assert!(took < Duration::from_secs(6), "too slow: {took:?}");
            assert_eq!(proxy.stats().bytes_down, 25_000);
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn profile_2g_is_slow_both_ways() {
        bounded(15, async {
            // 3000 B at 50 kbit/s = 0.48 s per direction, + 500 ms RTT.
            let proxy = ShapedProxy::start(echo_server().await, profile_2g()).await.unwrap();
            let t0 = StdInstant::now();
            let (got, _) = echo_through(proxy.addr(), pattern(3000)).await;
            let took = t0.elapsed();
            assert_eq!(got.len(), 3000);
            assert!(took >= Duration::from_millis(980), "too fast: {took:?}");
            assert!(took < Duration::from_secs(4), "too slow: {took:?}");
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_bytes_drop_cuts_and_counts() {
        bounded(10, async {
            let down = DropRule::AfterBytes { upstream: None, downstream: Some(1000) };
            let proxy =
                ShapedProxy::start(echo_server().await, LinkProfile::unshaped().with_drop(Some(down))).await.unwrap();
            let (got, _) = echo_through(proxy.addr(), pattern(5000)).await;
            assert_eq!(got, pattern(1000), "peer gets exactly the first N bytes");
            let s = proxy.stats();
            assert_eq!(s.bytes_down, 1000);
            assert_eq!(s.dropped_connections, 1);
            assert_eq!(s.connections, 1);

            let up = DropRule::AfterBytes { upstream: Some(100), downstream: None };
            proxy.set_profile(LinkProfile::unshaped().with_drop(Some(up)));
            proxy.reset_stats();
            let (got, _) = echo_through(proxy.addr(), pattern(5000)).await;
            assert!(got.len() <= 100, "got {} bytes", got.len());
            let s = proxy.stats();
            assert_eq!(s.bytes_up, 100);
            assert_eq!(s.dropped_connections, 1);
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn set_profile_turns_drops_off() {
        bounded(10, async {
            let rule = DropRule::AfterBytes { upstream: None, downstream: Some(10) };
            let proxy =
                ShapedProxy::start(echo_server().await, LinkProfile::unshaped().with_drop(Some(rule))).await.unwrap();
            let (got, _) = echo_through(proxy.addr(), pattern(1000)).await;
            assert_eq!(got.len(), 10);
            proxy.set_profile(LinkProfile::unshaped());
            let (got, err) = echo_through(proxy.addr(), pattern(1000)).await;
            assert!(!err);
            assert_eq!(got, pattern(1000));
            let s = proxy.stats();
            assert_eq!((s.connections, s.dropped_connections), (2, 1));
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_bytes_set_on_open_connection_counts_from_then() {
        bounded(10, async {
            let proxy = ShapedProxy::start(echo_server().await, LinkProfile::unshaped()).await.unwrap();
            let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
            let mut got = vec![0u8; 1000];
            s.write_all(&pattern(1000)).await.unwrap();
            s.read_exact(&mut got).await.unwrap();
            // Like a pooled keep-alive connection: the next 500 bytes pass, then it is cut.
            let rule = DropRule::AfterBytes { upstream: None, downstream: Some(500) };
            proxy.set_profile(LinkProfile::unshaped().with_drop(Some(rule)));
            s.write_all(&pattern(1000)).await.unwrap();
            let (got, _) = read_all(&mut s).await;
            assert_eq!(got, pattern(500));
            let st = proxy.stats();
            assert_eq!((st.bytes_down, st.dropped_connections), (1500, 1));
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn random_drop_respects_probability() {
        bounded(10, async {
            let rule = DropRule::Random { probability_per_connection: 1.0, seed: 7 };
            let proxy =
                ShapedProxy::start(echo_server().await, LinkProfile::unshaped().with_drop(Some(rule))).await.unwrap();
            for _ in 0..6 {
                let (got, _) = echo_through(proxy.addr(), pattern(1000)).await;
                assert!(got.len() < 1000, "connection should have been cut");
                assert_eq!(got, pattern(got.len()), "a prefix");
            }
            assert_eq!(proxy.stats().dropped_connections, 6);

            proxy.set_profile(
                LinkProfile::unshaped().with_drop(Some(DropRule::Random { probability_per_connection: 0.0, seed: 7 })),
            );
            for _ in 0..3 {
                let (got, err) = echo_through(proxy.addr(), pattern(1000)).await;
                assert!(!err);
                assert_eq!(got.len(), 1000);
            }
            assert_eq!(proxy.stats().dropped_connections, 6);
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn target_down_resets_client() {
        bounded(10, async {
            // A port nobody listens on (bind, note, close).
            let dead = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap();
            let proxy = ShapedProxy::start(dead, LinkProfile::unshaped()).await.unwrap();
            let (got, _) = echo_through(proxy.addr(), pattern(10)).await;
            assert!(got.is_empty());
        })
        .await
    }

    #[test]
    fn blocking_handle_works_from_sync_code() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let target = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => s.write_all(&buf[..n]).unwrap(),
                }
            }
        });
        let lat = Duration::from_millis(50);
        let proxy = start_blocking(target, LinkProfile { one_way_latency: lat, ..Default::default() }).unwrap();
        let mut s = std::net::TcpStream::connect(proxy.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let t0 = StdInstant::now();
        s.write_all(&pattern(5000)).unwrap();
        let mut got = vec![0u8; 5000];
        s.read_exact(&mut got).unwrap();
        assert!(t0.elapsed() >= 2 * lat);
        assert_eq!(got, pattern(5000));
        assert_eq!(proxy.stats().bytes_down, 5000);
        drop(s);
        proxy.shutdown();
    }
}
