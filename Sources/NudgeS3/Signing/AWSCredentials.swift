import NudgeCore

/// AWS credentials: an access key id and its secret, and a session token with
/// temporary credentials.
///
/// Printing them, with `print`, `dump` or string interpolation, shows the access key id
/// only: the secret and the token are never written anywhere.
package struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    package var accessKeyID: String
    package var secretAccessKey: String
    package var sessionToken: String?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    package var description: String {
        "access key \(accessKeyID)" + (sessionToken == nil ? "" : " (temporary, with a session token)")
    }

    package var debugDescription: String { description }

    package var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID]) }
}
