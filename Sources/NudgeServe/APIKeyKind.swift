// With the package's HTTP trait (Package.swift), like the rest of serve.
#if HTTP
import Crypto
import NudgeCore
import NudgeSpool
import NudgeSystem

/// What a key may do: `live` keys read everything `serve` offers, `test` keys may only
/// preview (the shape of the elNudge Nudges API's `sk_live_` and `sk_test_` keys).
package enum APIKeyKind: String, Sendable, CaseIterable {
    case live, test

    /// The prefix of its secret: `sk_live_` or `sk_test_`.
    package var prefix: String { "sk_\(rawValue)_" }
}
#endif
