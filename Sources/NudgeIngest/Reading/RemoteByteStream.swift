import NudgeCore
import NudgeSystem

/// One remote object's bytes, from its start, read as they arrive.
package protocol RemoteByteStream: AnyObject {
    /// Fills the start of `buffer` with the next bytes, waiting for them; returns how
    /// many, 0 at the object's end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RemoteReadError) -> Int
    /// Lets the object go (a read abandoned before its end stops fetching).
    func close()
}
