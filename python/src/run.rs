//! Work off the GIL that Ctrl-C still stops.
//!
//! Python delivers Ctrl-C to its main thread as a flag it checks between bytecodes, never
//! while native code runs. So the work runs on a thread of its own, and the calling thread
//! waits for it without the GIL, waking every few milliseconds to check for signals: a
//! `KeyboardInterrupt` asks the work to stop and is raised once it has.

use pyo3::prelude::*;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

/// How often a waiting thread checks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `work` on its own thread; `stop` is called when Ctrl-C (or another signal handler's
/// exception) interrupts the wait, and must make `work` end soon.
pub(crate) fn interruptible<T: Send>(
    py: Python<'_>,
    stop: impl FnOnce(),
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let mut stop = Some(stop);
    std::thread::scope(|scope| {
        let (done, finished) = channel();
        let worker = scope.spawn(move || {
            let result = work();
            let _ = done.send(());
            result
        });
        let mut interrupted = None;
        let mut finished = Some(finished);
        loop {
            match wait(py, &mut finished, SIGNAL_CHECK) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    if interrupted.is_none()
                        && let Err(error) = py.check_signals()
                    {
                        stop.take().into_iter().for_each(|stop| stop());
                        interrupted = Some(error);
                    }
                }
            }
        }
        let result = py.detach(|| worker.join());
        match (interrupted, result) {
            (Some(error), _) => Err(error),
            (None, Ok(result)) => Ok(result),
            (None, Err(_)) => Err(crate::HarrierError::new_err("internal error: the work panicked")),
        }
    })
}

/// Waits for a message without the GIL, at most `timeout`. The receiver moves to the waiting
/// code and back, since it cannot be shared between threads.
pub(crate) fn wait<T: Send>(
    py: Python<'_>,
    receiver: &mut Option<Receiver<T>>,
    timeout: Duration,
) -> Result<T, RecvTimeoutError> {
    let Some(taken) = receiver.take() else { return Err(RecvTimeoutError::Disconnected) };
    let (taken, message) = py.detach(move || {
        let message = taken.recv_timeout(timeout);
        (taken, message)
    });
    *receiver = Some(taken);
    message
}
