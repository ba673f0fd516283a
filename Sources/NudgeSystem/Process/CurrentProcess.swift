import CLinux
import Dispatch
import Glibc

/// What the tool asks of its own process: its id, its environment, signals and exits.
package enum CurrentProcess {
    /// The process id.
    package static var id: Int32 { getpid() }

    /// The value of environment variable `name`, if set.
    package static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Ends the process at once with `SIGKILL`, as `kill -9` would: nothing is flushed,
    /// no cleanup runs (the durability tests' crash points).
    package static func killImmediately() -> Never {
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL did not end the process")
    }

    /// Ends the process at once with `status`, without running exit handlers.
    package static func exitImmediately(_ status: Int32) -> Never {
        _exit(status)
    }

    /// Has the C allocator give every freed block of 128 KiB or more back to the system.
    /// By default glibc raises that bound to the largest block freed so far (up to 32
    /// MiB), after which the large, short-lived buffers of a run (a commit's journal, a
    /// growing table's old slots) stay in its heap as free but resident memory: about
    /// 10 MiB of `run`'s peak on the 1M-event export, for no gain in speed.
    package static func returnLargeFreedBlocksToTheSystem() {
        _ = nudge_return_freed_blocks_from(128 << 10)
    }

    /// The signals the tool handles.
    package enum Signal: Sendable {
        /// `SIGINT`, Ctrl-C.
        case interrupt
        /// `SIGXFSZ`, sent when a write passes the file-size limit (`ulimit -f`).
        case fileSizeLimit

        /// The signal's number.
        package var rawValue: Int32 {
            switch self {
            case .interrupt: SIGINT
            case .fileSizeLimit: SIGXFSZ
            }
        }
    }

    /// Hands each Ctrl-C (`SIGINT`) to `handler`, one at a time on a dispatch queue,
    /// instead of letting it end the process; for as long as the returned source lives
    /// and is not cancelled.
    package static func handleInterrupts(_ handler: @escaping () -> Void) -> any DispatchSourceSignal {
        ignore(.interrupt)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
        return source
    }

    /// Stops `signal` from having its default effect: ignoring `SIGXFSZ` makes a write
    /// past the limit fail with `EFBIG` instead of killing the process; ignoring `SIGINT`
    /// leaves it to a dispatch source to handle.
    package static func ignore(_ signal: Signal) {
        _ = Glibc.signal(signal.rawValue, SIG_IGN)
    }
}

extension CurrentProcess {
    /// The machine's physical memory, in bytes.
    package static var physicalMemory: Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
