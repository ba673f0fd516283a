import NudgeSpool

extension AuditReport {
    /// A faulted input (`corrupt_input`) that a later commit read whole under the same
    /// path (`run --reprocess-changed` after downloading it again): the fault is resolved.
    /// The records before the fault were read twice, once by each commit: those with a
    /// `messageId` were dropped again as `duplicate_message_id`, those without were
    /// accepted twice.
    package struct ResolvedFault: Sendable, Equatable {
        package var path: String
        /// The commit that read it with the fault, and the later one that read it whole.
        package var faultCommit: Int
        package var resolvedCommit: Int
        /// Records the faulted read processed, which the whole read processed again.
        package var rereadRecords: Int
    }

    /// The faulted inputs of `ledger` that a later commit read whole, under the same
    /// path (or the same absolute path), in the order they were faulted.
    static func resolvedFaults(in entries: [LedgerEntry]) -> [ResolvedFault] {
        var open: [(path: String, absolutePath: String?, commit: Int, records: Int)] = []
        var resolved: [ResolvedFault] = []
        for entry in entries {
            for input in entry.inputs {
                guard input.status == .ok else {
                    open.append((input.path, input.absolutePath, entry.commit, input.records))
                    continue
                }
                open.removeAll { fault in
                    // The same file: by absolute path where both runs recorded one (the same
                    // relative path run from another folder is another file), else by path.
                    let same = if let faulted = fault.absolutePath, let read = input.absolutePath {
                        faulted == read
                    } else {
                        fault.path == input.path
                    }
                    guard same else { return false }
                    resolved.append(ResolvedFault(path: fault.path, faultCommit: fault.commit, resolvedCommit: entry.commit,
                                                  rereadRecords: min(fault.records, input.records)))
                    return true
                }
            }
        }
        return resolved.sorted { ($0.faultCommit, $0.path) < ($1.faultCommit, $1.path) }
    }
}
