#!/usr/bin/env node
// Oracle for collab/yupdate.py: Yjs' own `Y.decodeUpdate`, and random Yjs documents to decode.
//
// Reads ONE JSON object on stdin: {"decode": [base64 update, ...], "generate": {"seed": n, "cases": n}}
// (both keys optional) and writes ONE JSON object: {"decoded": [result, ...], "generated": [{"update":
// base64, "decoded": result}, ...]}. A result is {"ok": true, "structs": [...], "ds": [[client, [[clock,
// len], ...]], ...]} or {"ok": false, "error": "..."}. Shapes (mirrored by tests/collab/test_yupdate.py):
//   struct  {"kind": "Item"|"GC"|"Skip", "id": [client, clock], "length": n} and, for an Item,
//           "origin"/"rightOrigin" ([client, clock] or null), "parent" (root name, [client, clock] or
//           null), "parentSub" (string or null), "content" {"kind": "Deleted"|"JSON"|"Binary"|"String"|
//           "Embed"|"Format"|"Type"|"Any"|"Doc", ...fields}
//   value   JSON, except: undefined {"$undefined": true}, bigint {"$bigint": "digits"}, Uint8Array
//           {"$bytes": base64}, NaN/Infinity {"$number": "NaN"}, every object {"$object": {...}}
import * as Y from 'yjs'

const b64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
const id = (i) => (i === null ? null : [i.client, i.clock])

const value = (v) => {
  if (v === undefined) return { $undefined: true }
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $number: String(v) }
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: b64(v) }
  if (Array.isArray(v)) return v.map(value)
  return { $object: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)])) }
}

// Most specific classes first: XmlHook extends Map, XmlText extends Text, XmlElement extends XmlFragment.
const TYPE_REFS = [[Y.XmlHook, 5], [Y.XmlText, 6], [Y.XmlElement, 3], [Y.XmlFragment, 4], [Y.Map, 1], [Y.Text, 2], [Y.Array, 0]]

const content = (c) => {
  if (c instanceof Y.ContentDeleted) return { kind: 'Deleted', length: c.len }
  if (c instanceof Y.ContentJSON) return { kind: 'JSON', values: c.arr.map(value) }
  if (c instanceof Y.ContentBinary) return { kind: 'Binary', data: b64(c.content) }
  if (c instanceof Y.ContentString) return { kind: 'String', text: c.str }
  if (c instanceof Y.ContentEmbed) return { kind: 'Embed', value: value(c.embed) }
  if (c instanceof Y.ContentFormat) return { kind: 'Format', key: c.key, value: value(c.value) }
  if (c instanceof Y.ContentAny) return { kind: 'Any', values: c.arr.map(value) }
  if (c instanceof Y.ContentDoc) return { kind: 'Doc', guid: c.doc.guid, opts: value(c.opts) }
  if (c instanceof Y.ContentType) {
    const t = c.type
    const ref = TYPE_REFS.find(([cls]) => t instanceof cls)[1]
    const name = ref === 3 ? t.nodeName : ref === 5 ? t.hookName : null
    return { kind: 'Type', ref, name }
  }
  throw new Error('unknown content ' + c.constructor.name)
}

const struct = (s) => {
  const base = { id: id(s.id), length: s.length }
  if (s instanceof Y.GC) return { kind: 'GC', ...base }
  if (s instanceof Y.Skip) return { kind: 'Skip', ...base }
  const parent = s.parent === null ? null : typeof s.parent === 'string' ? s.parent : id(s.parent)
  return {
    kind: 'Item',
    ...base,
    origin: id(s.origin),
    rightOrigin: id(s.rightOrigin),
    parent,
    parentSub: s.parentSub,
    content: content(s.content)
  }
}

const decode = (update) => {
  try {
    const { structs, ds } = Y.decodeUpdate(update)
    return { ok: true, structs: structs.map(struct), ds: [...ds.clients].map(([c, items]) => [c, items.map((d) => [d.clock, d.len])]) }
  } catch (e) {
    return { ok: false, error: String(e && e.message) }
  }
}

// --- random documents ------------------------------------------------------------------------------
const mulberry32 = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const generate = ({ seed, cases }) => {
  const rnd = mulberry32(seed)
  const int = (n) => Math.floor(rnd() * n)
  const pick = (xs) => xs[int(xs.length)]
  const KEYS = ['revenue', 'title', 'notes', 'owner', 'tags', 'x']
  const WORDS = ['', 'a', 'hé', 'grüße', '😀x', '日本', 'long text '.repeat(20)]
  const scalar = () => pick([
    () => int(200) - 100, () => 2 ** 31 + int(1000), () => -(2 ** 40), () => rnd() * 1e6, () => 0.5,
    () => pick(WORDS), () => rnd() < 0.5, () => null, () => undefined, () => BigInt(int(1e9)) * 99999999n,
    () => new Uint8Array([int(256), int(256)]), () => NaN, () => -0
  ])()
  const json = (depth) => depth > 2 || rnd() < 0.5
    ? scalar()
    : rnd() < 0.5
      ? Array.from({ length: int(4) }, () => json(depth + 1))
      : Object.fromEntries(Array.from({ length: int(4) }, () => [pick(KEYS), json(depth + 1)]))
  const listable = () => { // Y.Array takes neither undefined nor bigint at its top level
    let v
    do v = json(1); while (v === undefined || typeof v === 'bigint')
    return v
  }
  const out = []
  for (let c = 0; c < cases; c++) {
    const docs = Array.from({ length: 2 + int(3) }, () => new Y.Doc({ gc: rnd() < 0.7 }))
    docs.forEach((d, i) => { d.clientID = rnd() < 0.3 ? i : 8 + int(2 ** 32) }) // distinct: a shared id diverges
    const updates = []
    docs.forEach((d) => d.on('update', (u) => updates.push(u)))
    for (let op = 0; op < 3 + int(12); op++) {
      const d = pick(docs)
      const fields = d.getMap('fields')
      const key = pick(KEYS)
      const cur = fields.get(key)
      const r = rnd()
      if (cur instanceof Y.Text && r < 0.5) {
        const len = cur.length
        const q = rnd()
        if (q < 0.5 || len === 0) cur.insert(int(len + 1), pick(WORDS), rnd() < 0.2 ? { bold: true } : undefined)
        else if (q < 0.7) cur.delete(int(len), 1 + int(3))
        else if (q < 0.85) cur.format(int(len), 1 + int(3), { italic: rnd() < 0.5 ? true : null })
        else cur.insertEmbed(int(len + 1), { image: pick(WORDS) })
      } else if (cur instanceof Y.Array && r < 0.5) {
        if (rnd() < 0.6 || cur.length === 0) cur.insert(int(cur.length + 1), [listable(), listable()])
        else cur.delete(int(cur.length))
      } else if (r < 0.6) fields.set(key, json(0))
      else if (r < 0.7) fields.delete(key)
      else if (r < 0.8) fields.set(key, new Y.Text(pick(WORDS)))
      else if (r < 0.85) fields.set(key, Y.Array.from([listable()]))
      else if (r < 0.88) fields.set(key, new Y.Map([['k', json(1)]]))
      else if (r < 0.91) fields.set(key, new Y.Doc({ guid: 'sub-' + int(100), gc: rnd() < 0.5, meta: rnd() < 0.5 ? { m: 1 } : null }))
      else if (r < 0.95) {
        const el = new Y.XmlElement(pick(['p', 'h1']))
        el.insert(0, [new Y.XmlText(pick(WORDS))])
        d.getXmlFragment('xml').insert(0, rnd() < 0.8 ? [el] : [new Y.XmlHook('hook')])
      } else {
        const other = pick(docs) // a sync between two peers, possibly partial
        Y.applyUpdate(other, Y.encodeStateAsUpdate(d, Y.encodeStateVector(other)))
      }
    }
    const chosen = updates.filter(() => rnd() < 0.3).slice(0, 4)
    chosen.push(...docs.map((d) => Y.encodeStateAsUpdate(d)))
    chosen.push(Y.encodeStateAsUpdate(docs[0], Y.encodeStateVector(docs[1])))
    chosen.push(Y.mergeUpdates(updates.filter(() => rnd() < 0.5))) // gaps become Skip structs
    out.push(...chosen)
  }
  return out.map((u) => ({ update: b64(u), decoded: decode(u) }))
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const request = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
const decoded = (request.decode ?? []).map((s) => decode(new Uint8Array(Buffer.from(s, 'base64'))))
const generated = request.generate ? generate(request.generate) : []
process.stdout.write(JSON.stringify({ decoded, generated }) + '\n')
