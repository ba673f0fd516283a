extension ReplayMachine {
    /// The checkpoint's group commit: it is saved once `everyAnswers` answers are
    /// unsaved, or once the oldest unsaved answer is `everySeconds` old, whichever
    /// comes first, and whenever the replay ends with answers unsaved.
    struct GroupCommit: Sendable {
        let everyAnswers: Int
        let everySeconds: Double
        private var unsavedAnswers = 0
        private var firstUnsavedAt: Double?

        init(everyAnswers: Int, everySeconds: Double) {
            self.everyAnswers = everyAnswers
            self.everySeconds = everySeconds
        }

        enum Next: Equatable {
            case nothing
            case save
            /// Nothing to save before this instant.
            case wake(at: Double)
        }

        /// An answer (acknowledgement or rejection) changed what the checkpoint holds.
        mutating func noteAnswer(now: Double) {
            unsavedAnswers += 1
            if firstUnsavedAt == nil { firstUnsavedAt = now }
        }

        /// Whether to save now; `ending` saves whatever is unsaved.
        func next(now: Double, ending: Bool) -> Next {
            guard unsavedAnswers > 0 else { return .nothing }
            // One expression for "due", compared and waited for alike, so rounding can
            // never ask for a wake that then finds nothing due.
            let due = (firstUnsavedAt ?? now) + everySeconds
            return ending || unsavedAnswers >= everyAnswers || now >= due ? .save : .wake(at: due)
        }

        /// The checkpoint holding every answer so far was handed out to be saved.
        mutating func saved() {
            unsavedAnswers = 0
            firstUnsavedAt = nil
        }
    }
}
