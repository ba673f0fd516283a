/// The contract's size limits on what a spool record carries.
package enum RecordLimits {
    /// The most bytes of a line that a dropped record's `raw` keeps (whole UTF-8
    /// sequences only, so it may keep a few less).
    package static let rawBytes = 4096
}
