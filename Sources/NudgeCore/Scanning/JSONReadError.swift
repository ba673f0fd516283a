/// Why a JSON document the tool reads back (a ledger line, a checkpoint, a key record)
/// is not what it expected: not JSON at all, or a member missing or of another type.
package struct JSONReadError: Error, Equatable, Sendable, CustomStringConvertible {
    package enum Problem: Equatable, Sendable {
        /// The text is not strict JSON.
        case syntax(JSONSyntaxError)
        /// The object has no member of that name.
        case missing
        /// The value is of another kind than the reader expected.
        case wrongKind(expected: JSONKind, found: JSONKind)
        /// A number that is not an integer, or not one an `Int` holds.
        case notAnInteger
        /// A value (a name from a fixed set) that this reader does not know.
        case unknownValue
    }

    /// The member the problem is in (its key), when it is one.
    package var member: String?
    package var problem: Problem

    package init(member: String? = nil, _ problem: Problem) {
        self.member = member
        self.problem = problem
    }

    package var description: String {
        let subject = member.map { "member \"\($0)\"" } ?? "the value"
        switch problem {
        case .syntax(let error): return error.detail
        case .missing: return "\(subject) is missing"
        case .wrongKind(let expected, let found): return "\(subject) is \(Self.name(found)), not \(Self.name(expected))"
        case .notAnInteger: return "\(subject) is not an integer"
        case .unknownValue: return "\(subject) holds a value this version does not know"
        }
    }

    private static func name(_ kind: JSONKind) -> String {
        switch kind {
        case .absent: "absent"
        case .string: "a string"
        case .number: "a number"
        case .object: "an object"
        case .array: "an array"
        case .true, .false: "a boolean"
        case .null: "null"
        }
    }
}
