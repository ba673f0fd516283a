import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeS3

/// `s3://` locations, ListObjectsV2 pages and S3 error documents, read from the XML S3
/// and moto send.
@Suite struct S3ListingTests {
    @Test func locationsAreBucketAndKey() {
        #expect(S3Location("s3://logs") == S3Location(bucket: "logs", key: ""))
        #expect(S3Location("s3://logs/") == S3Location(bucket: "logs", key: ""))
        #expect(S3Location("s3://my.logs-1/segment-logs/src/2025-05-14/") == S3Location(bucket: "my.logs-1", key: "segment-logs/src/2025-05-14/"))
        #expect(S3Location("s3://logs/a//b c") == S3Location(bucket: "logs", key: "a//b c"))
        for bad in ["s3://", "s3:///key", "S3://logs", "logs/key", "s3://lo gs/key", "s3://ĺogs/x"] {
            #expect(S3Location(bad) == nil, "\(bad)")
        }
        #expect("\(S3Location(bucket: "b", key: "k/1.gz"))" == "s3://b/k/1.gz")
    }

    @Test func aListingPageGivesKeysSizesAndETagsDecoded() throws {
        // As S3 writes it with encoding-type=url (moto writes %20 for a space, S3 +).
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>logs</Name>\
            <Prefix>segment-logs%2F</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>\
            <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>\
            <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\
            <Contents><Key>segment-logs/src/2025-05-14/a+b.gz</Key><LastModified>2026-12-06T11:52:20.000Z</LastModified>\
            <ETag>&quot;644be06dfc54061fd1e67f5ebbabcd58&quot;</ETag><Size>20</Size><StorageClass>STANDARD</StorageClass></Contents>\
            <Contents><Key>segment-logs/src/2025-05-14/caf%C3%A9%20%26%20%2B.gz</Key><ETag>"9b2cf535f27731c974343645a3985328-2"</ETag>\
            <Size>1048576000</Size></Contents>\
            <Contents><Key>segment-logs/src/2025-05-15/empty.gz</Key><Size>0</Size><ETag/></Contents>\
            </ListBucketResult>
            """
        let page = try #require(S3ObjectListing(xml: Array(xml.utf8)))
        #expect(page.isTruncated && page.nextContinuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        #expect(page.objects == [
            .init(key: "segment-logs/src/2025-05-14/a b.gz", size: 20, etag: "\"644be06dfc54061fd1e67f5ebbabcd58\""),
            .init(key: "segment-logs/src/2025-05-14/café & +.gz", size: 1_048_576_000, etag: "\"9b2cf535f27731c974343645a3985328-2\""),
            .init(key: "segment-logs/src/2025-05-15/empty.gz", size: 0, etag: ""),
        ])
        let last = try #require(S3ObjectListing(xml: Array("<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>".utf8)))
        #expect(last.objects.isEmpty && !last.isTruncated && last.nextContinuationToken == nil)
        #expect(S3ObjectListing(xml: Array("<Error><Code>AccessDenied</Code></Error>".utf8)) == nil)
        #expect(S3ObjectListing(xml: Array("<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>".utf8)) == nil)
    }

    @Test func errorDocumentsGiveTheCodeMessageAndRegion() throws {
        let wrongRegion = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>AuthorizationHeaderMalformed</Code><Message>the region &apos;us-west-2&apos; is wrong; \
            expecting &apos;eu-central-1&apos;</Message><Region>eu-central-1</Region><RequestId>4442587FB7D0A2F9</RequestId></Error>
            """
        #expect(S3ErrorResponse(xml: Array(wrongRegion.utf8)) == S3ErrorResponse(
            code: "AuthorizationHeaderMalformed", message: "the region 'us-west-2' is wrong; expecting 'eu-central-1'",
            region: "eu-central-1"))
        let noKey = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&amp;b&#233;&#x41;</Key></Error>"
        #expect(S3ErrorResponse(xml: Array(noKey.utf8))?.code == "NoSuchKey")
        #expect(XMLElements.first("Key", in: noKey) == "a&béA")
        #expect(S3ErrorResponse(xml: []) == nil && S3ErrorResponse(xml: Array("<Error></Error>".utf8)) == nil)
        #expect(XMLElements.decodeEntities("&bogus; &amp &#xZZ;") == "&bogus; &amp &#xZZ;")
    }
}
