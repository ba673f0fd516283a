/// A path as the file system takes it: a C string. `String` paths are UTF-8; a
/// `[UInt8]` path is the file system's own bytes, which need not be UTF-8 (names found
/// by a directory walk are kept that way, so that every file can be opened again).
package protocol SystemPath {
    /// Calls `body` with the path as a NUL-terminated C string, valid only during the call.
    func withSystemPath<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result
}

extension String: SystemPath {
    package func withSystemPath<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result {
        withCString(body)
    }
}

extension Array: SystemPath where Element == UInt8 {
    package func withSystemPath<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result {
        (self + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }
}

extension SystemPath {
    /// Runs a system call on the path (see ``retryingInterrupts(_:)``).
    func call<Value: BinaryInteger>(_ body: (UnsafePointer<CChar>) -> Value) throws(SystemError) -> Value {
        try withSystemPath { path in Result { () throws(SystemError) in try retryingInterrupts { body(path) } } }.get()
    }
}

/// Runs a system call until a signal does not interrupt it; a negative result throws
/// `errno`, read before anything else can change it.
func retryingInterrupts<Value: BinaryInteger>(_ call: () -> Value) throws(SystemError) -> Value {
    while true {
        let value = call()
        if value >= 0 { return value }
        let error = SystemError.current
        if error != .interrupted { throw error }
    }
}
