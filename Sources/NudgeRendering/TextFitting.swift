// NudgeRendering: what people read. The operations (run, replay, audit, preview,
// redrive) return values; the command line and `serve` turn them into text tables,
// progress lines and HTML here, so that no operation's value type renders itself.
