/**
 * What an announcing server answers to a query: a pure function from the
 * decoded query and the server's records to the response, so every rule of
 * RFC 6762 used here can be tested without a socket.
 *
 * - `_dfos._tcp.local` PTR: the instance pointer, with SRV, TXT and A as
 *   additional records (a browser needs no second query).
 * - `_services._dns-sd._udp.local` PTR: the service type.
 * - the instance's SRV, TXT or ANY; the host's A or ANY.
 * - Known-answer suppression (section 7.1): a record the querier already
 *   holds with at least half its lifetime left is not sent again.
 * - A query from a port other than 5353 is a legacy one (section 6.7): the
 *   answer goes back by unicast, echoes the id and questions, caps lifetimes
 *   at 10 s and sets no cache-flush bits.
 *
 * @module
 */

// @ts-types="@types/dns-packet"
import type { Answer, OptAnswer, Packet, Question } from "dns-packet";
import { LEGACY_ANSWER_TTL, SERVICE_TYPE, SERVICE_TYPES_NAME } from "./constants.ts";
import type { ServiceRecords } from "./service_records.ts";

/** The records a query asks for, split as a response carries them. */
export interface QueryAnswer {
  answers: Answer[];
  additionals: Answer[];
}

/** What `query` should be answered with, or undefined when nothing of ours was asked for. */
export function answerQuery(query: Packet, records: ServiceRecords): QueryAnswer | undefined {
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  for (const question of query.questions ?? []) {
    const found = recordsFor(question, records);
    answers.push(...found.answers);
    additionals.push(...found.additionals);
  }
  const known = query.answers ?? [];
  const fresh = unique(answers).filter((record) => !alreadyKnown(record, known));
  if (fresh.length === 0) return undefined;
  return {
    answers: fresh,
    additionals: unique(additionals).filter((record) => !fresh.includes(record)),
  };
}

/** The response packet for `answer`: multicast, or unicast to a legacy querier. */
export function responsePacket(answer: QueryAnswer, legacyQuery?: Packet): Packet {
  if (!legacyQuery) {
    return { type: "response", flags: AUTHORITATIVE, ...answer };
  }
  const legacy = (record: Answer): Answer =>
    isRecord(record)
      ? { ...record, flush: false, ttl: Math.min(record.ttl ?? 0, LEGACY_ANSWER_TTL) }
      : record;
  return {
    type: "response",
    id: legacyQuery.id,
    flags: AUTHORITATIVE,
    questions: legacyQuery.questions,
    answers: answer.answers.map(legacy),
    additionals: answer.additionals.map(legacy),
  };
}

/** A resource record (not the EDNS pseudo-record, which has no TTL or data). */
type DnsRecord = Exclude<Answer, OptAnswer>;

/** The AA bit: every mDNS response sets it. */
const AUTHORITATIVE = 1 << 10;

function recordsFor(question: Question, records: ServiceRecords): QueryAnswer {
  const name = question.name.toLowerCase();
  const type = question.type;
  // dns-packet decodes type 255 as "ANY", which its type definitions leave out.
  const any = (type as string) === "ANY";
  const host = records.addresses;
  const none = { answers: [], additionals: [] };
  if (name === SERVICE_TYPE && (type === "PTR" || any)) {
    return { answers: [records.pointer], additionals: [records.srv, records.txt, ...host] };
  }
  if (name === SERVICE_TYPES_NAME && (type === "PTR" || any)) {
    return { answers: [records.typePointer], additionals: [] };
  }
  if (name === records.srv.name.toLowerCase()) {
    const answers = [
      ...(type === "SRV" || any ? [records.srv] : []),
      ...(type === "TXT" || any ? [records.txt] : []),
    ];
    return answers.length
      ? { answers, additionals: answers.includes(records.srv) ? host : [] }
      : none;
  }
  if (host.length > 0 && name === host[0].name.toLowerCase() && (type === "A" || any)) {
    return { answers: host, additionals: [] };
  }
  return none;
}

function unique(records: Answer[]): Answer[] {
  return [...new Set(records)];
}

/** True when `known` holds `record` with at least half its lifetime left. */
function alreadyKnown(record: Answer, known: readonly Answer[]): boolean {
  if (!isRecord(record)) return false;
  return known.some((held) =>
    isRecord(held) && held.type === record.type &&
    held.name.toLowerCase() === record.name.toLowerCase() &&
    sameData(held, record) && (held.ttl ?? 0) * 2 >= (record.ttl ?? 0)
  );
}

function isRecord(answer: Answer): answer is DnsRecord {
  return answer.type !== "OPT";
}

function sameData(a: DnsRecord, b: DnsRecord): boolean {
  if (a.type === "PTR" && b.type === "PTR") return a.data.toLowerCase() === b.data.toLowerCase();
  return JSON.stringify(a.data) === JSON.stringify(b.data);
}
