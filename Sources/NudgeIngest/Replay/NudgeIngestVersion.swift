/// The tool's version, in `--version` and the `User-Agent` replay sends.
package enum NudgeIngestVersion {
    package static let current = "0.14.0"
}
