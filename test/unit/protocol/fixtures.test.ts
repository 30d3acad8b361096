// Hand-checked byte fixtures: each hex string below was written field by field
// from the Kafka protocol guide, not produced by our encoder.
import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, encodeResponse } from '../../../src/protocol/frame.js';
import { ApiVersions, Fetch, Metadata, Produce } from '../../../src/protocol/messages/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex');
const frame = (body: Buffer) => {
  const b = Buffer.alloc(4 + body.length);
  b.writeInt32BE(body.length);
  body.copy(b, 4);
  return b;
};
const cat = (parts: Buffer[]) => Buffer.concat(parts);

describe('ApiVersions fixtures', () => {
  const requestV3 = hex(`
    0012 0003 00000007        // api key 18, version 3, correlation 7
    0003 636c69               // client id "cli" (int16 length, never compact)
    00                        // header tagged fields
    05 666c6f65               // client software name "floe" (compact: len+1)
    04 312e30                 // client software version "1.0"
    00                        // body tagged fields
  `);

  it('encodes a v3 request', () => {
    const bytes = encodeRequest(ApiVersions, 3, 7, 'cli', { clientSoftwareName: 'floe', clientSoftwareVersion: '1.0' });
    expect(bytes.toString('hex')).toBe(frame(requestV3).toString('hex'));
  });

  it('decodes a v3 request', () => {
    const d = decodeRequest(requestV3);
    expect(d.kind).toBe('request');
    if (d.kind !== 'request') return;
    expect(d.header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'cli' });
    expect(d.body).toEqual({ clientSoftwareName: 'floe', clientSoftwareVersion: '1.0' });
  });

  it('encodes a v0 response', () => {
    const out = cat(encodeResponse(ApiVersions, ApiVersions.response, 0, 7, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }));
    expect(out.toString('hex')).toBe(
      frame(hex(`
        00000007                  // correlation id (response header v0)
        0000                      // error code
        00000001                  // one api key (int32 count)
        0012 0000 0004            // ApiVersions 0..4
      `)).toString('hex'),
    );
  });

  it('encodes a v3 response with response header v0', () => {
    const out = cat(encodeResponse(ApiVersions, ApiVersions.response, 3, 7, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }));
    expect(out.toString('hex')).toBe(
      frame(hex(`
        00000007                  // correlation id, no header tagged fields for ApiVersions
        0000                      // error code
        02                        // compact array: 1 entry
        0012 0000 0004 00         // ApiVersions 0..4, entry tagged fields
        00000000                  // throttle
        00                        // tagged fields (all at defaults)
      `)).toString('hex'),
    );
  });

  it('recognises an ApiVersions request newer than we know', () => {
    const d = decodeRequest(hex('0012 0063 00000009 0000 00'));
    expect(d.kind).toBe('unsupported-api-versions');
    expect(d.header.correlationId).toBe(9);
  });
});

describe('Metadata fixtures', () => {
  it('decodes a v1 request for all topics (null array)', () => {
    const d = decodeRequest(hex('0003 0001 00000002 0000 ffffffff'));
    expect(d.kind === 'request' && d.body).toMatchObject({ topics: null, allowAutoTopicCreation: true });
  });

  it('encodes a v9 request', () => {
    const bytes = encodeRequest(Metadata, 9, 3, 'c', {
      topics: [{ name: 't' }],
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    });
    expect(bytes.toString('hex')).toBe(
      frame(hex(`
        0003 0009 00000003 0001 63 00   // header v2: key 3, v9, corr 3, client "c", tags
        02 02 74 00               // topics: 1 entry, name "t", entry tags
        01                        // allow auto topic creation
        00                        // include cluster authorized operations (v8-10)
        00                        // include topic authorized operations
        00                        // tags
      `)).toString('hex'),
    );
  });

  it('encodes a v1 response', () => {
    const out = cat(
      encodeResponse(Metadata, Metadata.response, 1, 2, {
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
        controllerId: 1,
        topics: [{ errorCode: 0, name: 't', isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }] }],
      }),
    );
    expect(out.toString('hex')).toBe(
      frame(hex(`
        00000002                  // correlation
        00000001                  // brokers: 1
        00000001 0001 68 00002384 ffff  // node 1, host "h", port 9092, rack null
        00000001                  // controller id
        00000001                  // topics: 1
        0000 0001 74 00           // error, name "t", not internal
        00000001                  // partitions: 1
        0000 00000000 00000001    // error, partition 0, leader 1
        00000001 00000001         // replicas [1]
        00000001 00000001         // isr [1]
      `)).toString('hex'),
    );
  });
});

describe('Produce fixtures', () => {
  const requestV3 = hex(`
    0000 0003 0000002a 0000    // produce v3, correlation 42, client ""
    ffff                       // transactional id null
    ffff                       // acks -1
    00007530                   // timeout 30000
    00000001 0001 74           // 1 topic "t"
    00000001 00000000          // 1 partition, index 0
    00000003 aabbcc            // records: 3 opaque bytes
  `);

  it('decodes a v3 request, keeping records as a view of the frame', () => {
    const d = decodeRequest(requestV3);
    if (d.kind !== 'request') throw new Error('expected a request');
    const body = d.body as { acks: number; timeoutMs: number; topicData: { name: string; partitionData: { index: number; records: Buffer }[] }[] };
    expect(body.acks).toBe(-1);
    expect(body.timeoutMs).toBe(30000);
    const records = body.topicData[0].partitionData[0].records;
    expect(records.toString('hex')).toBe('aabbcc');
    expect(records.buffer).toBe(requestV3.buffer); // no copy
  });

  it('encodes a v9 (flexible) response', () => {
    const out = cat(
      encodeResponse(Produce, Produce.response, 9, 42, {
        responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 5, logStartOffset: 0 }] }],
      }),
    );
    expect(out.toString('hex')).toBe(
      frame(hex(`
        0000002a 00               // correlation, header tags (response header v1)
        02 02 74                  // 1 topic "t"
        02                        // 1 partition
        00000000 0000             // index 0, no error
        0000000000000005          // base offset 5
        ffffffffffffffff          // log append time -1
        0000000000000000          // log start offset 0
        01                        // record errors: empty
        00                        // error message null
        00                        // partition tags
        00                        // topic tags
        00000000                  // throttle
        00                        // tags
      `)).toString('hex'),
    );
  });
});

describe('Fetch fixtures', () => {
  it('decodes a v4 request', () => {
    const d = decodeRequest(
      hex(`
        0001 0004 00000005 0000    // fetch v4, corr 5, client ""
        ffffffff 000001f4 00000001 00100000 00  // replica -1, wait 500, min 1, max 1 MiB, read uncommitted
        00000001 0001 74           // 1 topic "t"
        00000001 00000000          // 1 partition: 0
        0000000000000007           // fetch offset 7
        00100000                   // partition max bytes
      `),
    );
    if (d.kind !== 'request') throw new Error('expected a request');
    expect(d.body).toMatchObject({
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1048576,
      isolationLevel: 0,
      sessionEpoch: -1,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 7, partitionMaxBytes: 1048576, currentLeaderEpoch: -1 }] }],
    });
  });

  it('encodes a v4 response with records by reference', () => {
    const records = Buffer.alloc(2000, 0xab);
    const parts = encodeResponse(Fetch, Fetch.response, 4, 5, {
      responses: [{ topic: 't', partitions: [{ partitionIndex: 0, highWatermark: 10, lastStableOffset: 10, abortedTransactions: null, records }] }],
    });
    expect(parts.includes(records)).toBe(true); // written without copying
    const out = cat(parts);
    expect(out.toString('hex')).toBe(
      frame(
        cat([
          hex(`
            00000005                  // correlation
            00000000                  // throttle
            00000001 0001 74          // 1 topic "t"
            00000001 00000000 0000    // 1 partition: 0, no error
            000000000000000a          // high watermark 10
            000000000000000a          // last stable offset 10
            ffffffff                  // aborted transactions null
            000007d0                  // records length 2000
          `),
          records,
        ]),
      ).toString('hex'),
    );
  });

  it('encodes a v12 (flexible) response', () => {
    const out = cat(
      encodeResponse(Fetch, Fetch.response, 12, 5, {
        responses: [{ topic: 't', partitions: [{ partitionIndex: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0, abortedTransactions: null, records: Buffer.from('aabbcc', 'hex') }] }],
      }),
    );
    expect(out.toString('hex')).toBe(
      frame(hex(`
        00000005 00               // correlation, header tags
        00000000 0000 00000000    // throttle, error, session id 0
        02 02 74                  // 1 topic "t"
        02 00000000 0000          // 1 partition: 0, no error
        000000000000000a 000000000000000a 0000000000000000  // hw, lso, log start
        00                        // aborted transactions null (compact)
        ffffffff                  // preferred read replica -1
        04 aabbcc                 // records (compact bytes)
        00 00 00                  // partition, topic, response tags
      `)).toString('hex'),
    );
  });
});
