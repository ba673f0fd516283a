import Glibc

/// What a path names.
package enum FileKind: Sendable, Equatable {
    case regular
    case directory
    case symbolicLink
    /// A FIFO, socket or device.
    case other
}

/// What `stat` says of a file: its kind, size and identity.
package struct FileStatus: Sendable, Equatable {
    package var kind: FileKind
    package var size: Int
    /// The device and inode: the same pair is the same file, whatever the path.
    package var device: UInt64
    package var inode: UInt64

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        size = Int(info.st_size)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
