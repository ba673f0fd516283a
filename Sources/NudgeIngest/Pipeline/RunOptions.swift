import NudgeSpool
import NudgeSystem

/// Settings of one `nudge-ingest run`.
public struct RunOptions: Sendable {
    /// The spool directory (`--spool`).
    public var spool: String = "spool"
    /// Longer lines are dropped as `line_too_long` (`--max-line-bytes`, default 1 MiB).
    public var maxLineBytes: Int = 1 << 20
    /// Process inputs whose content changed since they were committed, as new inputs
    /// (`--reprocess-changed`); otherwise the run refuses them.
    public var reprocessChanged = false
    /// How many file bytes are read at a time.
    package var readChunkBytes: Int = 1 << 20
    /// Which library inflates gzip inputs (`--inflate`): ISA-L where installed, else zlib.
    public var inflate: InflateBackend = .auto
    /// How many inflated bytes the inflater hands on at a time.
    var inflateChunkBytes: Int = 256 << 10
    /// How many workers parse records at once, and how many inputs are read at once
    /// (`--jobs`, default: the cores this process may use). The spools are the same
    /// for every value.
    public var jobs: Int = availableCores()
    /// Bytes of memory for the message-id state: recent ids, and filters over the ids
    /// saved on disk (`--memory`; nil: 256 MiB, less on a small machine). The spools
    /// are the same for every value; a small one makes more lookups read the disk.
    public var memoryBudget: Int?
    /// The batches of lines between the readers, the workers and the sequencer: how
    /// large (in line bytes), and how many (nil: three a worker plus four).
    var batchBytes = 256 << 10
    var batchCount: Int?
    /// Spool bytes gathered before they go to the writing thread, when not compressed.
    var spoolFlushBytes = 1 << 20
    /// Whether the accepted and dropped files are compressed (tests turn it off to write
    /// spools as versions before compression did), and the least inflated length of
    /// their members (tests make it small, to have many).
    var compressSpool = true
    var spoolMemberBytes = SpoolMember.defaultInflatedBytes

    /// The message-id state's budget.
    var messageIDBudget: MessageIDBudget { memoryBudget.map(MessageIDBudget.init(bytes:)) ?? .default() }

    /// The defaults of `nudge-ingest run`.
    public init() {}
}
