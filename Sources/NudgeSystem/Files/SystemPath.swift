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
    /// Runs a system call on the path; a negative result is a failure, reported with the
    /// `errno` read before anything else can change it.
    func call<Value: BinaryInteger>(_ body: (UnsafePointer<CChar>) -> Value) throws(SystemError) -> Value {
        let (value, code) = withSystemPath { path in
            let value = body(path)
            return (value, value < 0 ? SystemError.current : nil)
        }
        if let code { throw code }
        return value
    }
}
