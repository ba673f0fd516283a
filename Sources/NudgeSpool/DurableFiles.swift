import NudgeSystem

/// The one crash-safe way the tool puts a file in place: the new content is written
/// under a hidden name beside the target, synced, renamed over the target, and the
/// folder synced, so a kill at any instant leaves the old file or the new one whole,
/// and at most a leftover under the hidden name, which ``removeLeftovers(in:)``
/// takes away when the folder is next opened.
///
/// Every writer goes through it: the spool's commits and compaction, redrive's rewritten
/// dropped files, the replay checkpoint and rejected spool, requeue, and the API keys.
/// A protocol of several files (a spool commit, a requeue) takes the steps one at a
/// time, with its commit point in between: ``write(_:to:)``, ``putInPlace(_:at:)``,
/// ``syncFolder(_:)``.
package enum DurableFiles {
    /// The hidden name `path`'s new content is written under: `.NAME.partial` in the
    /// same folder (a rename never crosses a file system).
    package static func asidePath(of path: String) -> String {
        let (folder, name) = split(path)
        return folder + "/." + name + ".partial"
    }

    /// Whether `name` (in a folder) is an aside file that no finished write renamed.
    package static func isLeftover(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".partial")
    }

    /// Replaces `path` whole by `bytes`: written to `aside` (by default
    /// ``asidePath(of:)``), synced, renamed over `path`, and `path`'s folder synced.
    /// `beforeRename` runs once the aside file is durable (where a test's crash point
    /// fires). On failure the aside file is removed and `path` is as it was, or whole
    /// with the new bytes when only the folder's sync failed.
    package static func replace(
        _ path: String, with bytes: [UInt8], aside: String? = nil, beforeRename: () -> Void = {}
    ) throws(SpoolError) {
        try replace(path, aside: aside, writing: { (aside) throws(SpoolError) in try write(bytes, to: aside) },
                    beforeRename: beforeRename)
    }

    /// Replaces `path` whole by what `writeAside` writes and syncs at the path it is
    /// given (the aside file), then renames it over `path` and syncs the folder, as
    /// ``replace(_:with:aside:beforeRename:)`` does; returns what `writeAside` returned.
    package static func replace<Result>(
        _ path: String, aside: String? = nil, writing writeAside: (String) throws(SpoolError) -> Result,
        beforeRename: () -> Void = {}
    ) throws(SpoolError) -> Result {
        let aside = aside ?? asidePath(of: path)
        do {
            let result = try writeAside(aside)
            beforeRename()
            try putInPlace(aside, at: path)
            try syncFolder(folder(of: path))
            return result
        } catch {
            Files.remove(aside)
            throw error
        }
    }

    /// Writes `bytes` to a new private file at `path` (`0600`; one there is truncated)
    /// and syncs it: the first step of a replacement whose rename comes later.
    package static func write(_ bytes: [UInt8], to path: String) throws(SpoolError) {
        let file = try Files.create(path)
        defer { file.close() }
        try Files.writeAll(file, bytes, path: path)
        try Files.sync(file, path: path)
    }

    /// Renames the synced file `aside` over `path`, without syncing the folder: for a
    /// protocol that renames several files and then syncs their folders once
    /// (``syncFolder(_:)``). The only rename of the tool.
    package static func putInPlace(_ aside: String, at path: String) throws(SpoolError) {
        do { try FileSystem.rename(aside, to: path) } catch { throw .cannotWrite(path: path, error: error) }
    }

    /// Moves the file at `source` to `destination` (in the same file system) and syncs
    /// the folder it entered, then the folder it left: once this returns, the file is
    /// durably at its new name and gone from its old one.
    package static func move(_ source: String, to destination: String) throws(SpoolError) {
        try putInPlace(source, at: destination)
        let (from, to) = (folder(of: source), folder(of: destination))
        try syncFolder(to)
        if from != to { try syncFolder(from) }
    }

    /// Makes the names in a folder (renames, removals, new files) durable.
    package static func syncFolder(_ path: String) throws(SpoolError) {
        let folder: FileDescriptor
        do { folder = try .open(path, for: .directory) } catch { throw .cannotWrite(path: path, error: error) }
        defer { folder.close() }
        do {
            try folder.sync()
        } catch {
            // EINVAL: a file system that cannot sync a folder.
            if error != .invalidArgument { throw .cannotWrite(path: path, error: error) }
        }
    }

    /// Removes what interrupted writes left in `folder` (``isLeftover(_:)``), and
    /// returns their paths; the caller syncs the folder when it removed any. Only the
    /// holder of the folder's lock calls it: another process may be writing aside.
    @discardableResult
    package static func removeLeftovers(in folder: String) -> [String] {
        Files.names(in: folder).filter(isLeftover).map { folder + "/" + $0 }.filter { Files.remove($0) }
    }

    /// The folder holding `path` (`.` for a bare name).
    package static func folder(of path: String) -> String {
        split(path).folder
    }

    private static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = path[..<slash]
        return (folder.isEmpty ? "/" : String(folder), String(path[path.index(after: slash)...]))
    }
}
