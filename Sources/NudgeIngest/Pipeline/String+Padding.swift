extension String {
    /// `self` after enough `pad` characters to be `width` long: numbers in columns.
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    /// `self` followed by enough spaces to be `width` long: names in columns.
    func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
