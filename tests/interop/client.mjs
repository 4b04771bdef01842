#!/usr/bin/env node
// A scriptable y-websocket client for collab's interop tests, driven by tests/interop/node_client.py.
//
// Protocol: one JSON object per line on stdin, `{"id": n, "cmd": "set", ...args}`; exactly one reply
// per command on stdout, `{"id": n, "ok": true, ...result}` or `{"id": n, "ok": false, "error": "...",
// ...details}` (`"timeout": true` when a wait ran out). Commands run concurrently, so a wait does not
// block others. Unsolicited `{"event": "...", ...}` lines report status, sync, close, saved and errors.
// The process holds ONE Y.Doc and at most ONE WebsocketProvider; it exits on `close` or when stdin ends.
import readline from 'node:readline'
import { performance } from 'node:perf_hooks'
import { isDeepStrictEqual } from 'node:util'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { Awareness } from 'y-protocols/awareness'
import * as decoding from 'lib0/decoding'

const MESSAGE_AUTH = 2
const AUTH_PERMISSION_DENIED = 0 // y-protocols/auth: the only auth message there is
const MESSAGE_SAVED = 100 // collab's extension: payload = encoded state vector of what is stored

// stdout carries the protocol alone: route library chatter to stderr (the driver keeps its tail).
console.log = console.info = console.debug = (...args) => console.error(...args)

const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const emit = (event, data = {}) => write({ event, ...data })
const b64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
const clocksOf = (vector) => Object.fromEntries(vector ?? new Map())
const localVector = () => Y.decodeStateVector(Y.encodeStateVector(doc))

class CommandError extends Error {
  constructor (message, details = {}) {
    super(message)
    this.details = details
  }
}

const doc = new Y.Doc()
const fields = doc.getMap('fields')
// Created up front (not by the provider) so awareness can be set before the first connect.
const awareness = new Awareness(doc)
/** @type {WebsocketProvider | null} */
let provider = null
const closes = [] // {code, reason} of every close caused by the server or the network
const permissionDenied = [] // reasons of auth messages (viewers get one)
const errors = [] // failures outside any command (e.g. an undecodable saved message)
let saved = { count: 0, bytes: null, vector: null }

// Every wait is a predicate re-checked whenever something observable changes: no polling, no sleeps.
const waiters = new Set()
const notify = () => { for (const waiter of [...waiters]) waiter() }
doc.on('update', notify)
awareness.on('change', notify)

/** Resolves with check()'s first truthy result; check() may throw to fail the wait early. */
const waitUntil = (check, timeoutMs, what, details = () => ({})) => new Promise((resolve, reject) => {
  const started = performance.now()
  const finish = (settle, value) => { clearTimeout(timer); waiters.delete(waiter); settle(value) }
  const waiter = () => {
    try {
      const result = check()
      if (result) finish(resolve, { ...result, elapsedMs: Math.round((performance.now() - started) * 1000) / 1000 })
    } catch (err) {
      finish(reject, err)
    }
  }
  const timer = setTimeout(() => finish(reject, new CommandError(
    `timeout after ${timeoutMs} ms waiting for ${what}`, { timeout: true, ...details() })), timeoutMs)
  waiters.add(waiter)
  waiter()
})

const onSaved = (_encoder, decoder) => {
  // Writes nothing into `encoder`: y-websocket sends a reply only when the encoder holds more than
  // one byte, so leaving it empty means "no answer" (the sync handler's lone type byte is the `> 1`).
  try {
    const bytes = decoding.readVarUint8Array(decoder)
    saved = { count: saved.count + 1, bytes, vector: Y.decodeStateVector(bytes) }
    emit('saved', { count: saved.count, clocks: clocksOf(saved.vector) })
  } catch (err) {
    errors.push(`undecodable saved message: ${err.message}`)
    emit('error', { message: errors.at(-1) })
  }
  notify()
}

const onClose = (event) => {
  if (event === null) return // null means we closed it ourselves (offline, watchdog)
  closes.push({ code: event.code, reason: String(event.reason ?? '') })
  emit('close', closes.at(-1))
  notify()
}

const savedCovers = (scope) => {
  const stored = saved.vector ?? new Map()
  const local = localVector()
  const ids = scope === 'all' ? [...local.keys()] : [doc.clientID]
  return ids.every((client) => (stored.get(client) ?? 0) >= (local.get(client) ?? 0))
}

const fieldValue = (key) => {
  const value = fields.get(key)
  if (value instanceof Y.Text) return value.toString()
  return value instanceof Y.AbstractType ? value.toJSON() : value
}

/** Synced, or rejected as soon as the server closes with a permanent (44xx) code. */
const waitSynced = (timeoutMs, what) => {
  const seen = closes.length
  return waitUntil(() => {
    const permanent = closes.slice(seen).find(({ code }) => code >= 4400 && code < 4500)
    if (permanent) {
      throw new CommandError(`closed by server with ${permanent.code} ${permanent.reason}`.trim(),
        { closeCode: permanent.code, closeReason: permanent.reason })
    }
    return provider.synced && { clientId: doc.clientID }
  }, timeoutMs, what, () => ({ closeCodes: closes.map(({ code }) => code) }))
}

const requireProvider = () => {
  if (provider === null) throw new CommandError('not connected: send connect first')
  return provider
}

const commands = {
  connect ({ url, room, token = null, params = {}, timeout_ms: timeoutMs = 10000 }) {
    if (provider !== null) throw new CommandError('already connected: use offline/online')
    if (!['ws:', 'wss:'].includes(new URL(url).protocol)) throw new CommandError(`not a ws url: ${url}`)
    provider = new WebsocketProvider(url, room, doc, {
      WebSocketPolyfill: WebSocket,
      disableBc: true, // otherwise providers in one process sync around the server
      params: token === null ? params : { ...params, token },
      awareness,
      connect: true
    })
    // The socket opens asynchronously, so handlers set here precede any message.
    provider.messageHandlers[MESSAGE_SAVED] = onSaved
    // Replaces the stock handler, which only console.warns: record the reason so tests can assert it.
    provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      if (decoding.readVarUint(decoder) !== AUTH_PERMISSION_DENIED) return
      const reason = decoding.readVarString(decoder)
      permissionDenied.push(reason)
      emit('permission-denied', { reason })
      notify()
    }
    provider.on('connection-close', onClose)
    provider.on('status', ({ status }) => emit('status', { status }))
    provider.on('sync', (synced) => { emit('sync', { synced }); notify() })
    return waitSynced(timeoutMs, 'connect')
  },
  offline () {
    requireProvider().disconnect()
    return {}
  },
  online ({ timeout_ms: timeoutMs = 10000 }) {
    requireProvider().connect()
    return waitSynced(timeoutMs, 'online')
  },
  wait_synced ({ timeout_ms: timeoutMs = 10000 }) {
    requireProvider()
    return waitSynced(timeoutMs, 'wait_synced')
  },
  set ({ key, value }) {
    fields.set(key, value)
    return {}
  },
  delete ({ key }) {
    fields.delete(key)
    return {}
  },
  text_insert ({ key, index = null, text }) {
    const current = fields.get(key)
    if (current !== undefined && !(current instanceof Y.Text)) throw new CommandError(`${key} is not a Y.Text`)
    // null appends: unlike a number, it stays right when a peer's edit lands first.
    const at = index ?? current?.length ?? 0
    // Yjs silently appends past the end; a test asking for that has a bug worth reporting.
    if (at < 0 || at > (current?.length ?? 0)) throw new CommandError(`index ${at} out of range`)
    // One transaction, so creating the text and its first insert travel as one update.
    doc.transact(() => {
      const ytext = current ?? new Y.Text()
      if (current === undefined) fields.set(key, ytext)
      ytext.insert(at, text)
    })
    return {}
  },
  text_delete ({ key, index, length }) {
    const current = fields.get(key)
    if (!(current instanceof Y.Text)) throw new CommandError(`${key} is not a Y.Text`)
    current.delete(index, length)
    return {}
  },
  get () {
    const vector = localVector()
    return {
      clientId: doc.clientID,
      fields: fields.toJSON(),
      stateVector: b64(Y.encodeStateVector(doc)),
      clocks: clocksOf(vector),
      connected: provider?.wsconnected ?? false,
      synced: provider?.synced ?? false,
      closes,
      closeCodes: closes.map(({ code }) => code),
      permissionDenied,
      errors,
      savedCount: saved.count
    }
  },
  encode_state () {
    return { update: b64(Y.encodeStateAsUpdate(doc)) }
  },
  own_clock () {
    return { clock: localVector().get(doc.clientID) ?? 0 }
  },
  saved () {
    return { count: saved.count, stateVector: saved.bytes && b64(saved.bytes), clocks: clocksOf(saved.vector) }
  },
  wait_saved ({ timeout_ms: timeoutMs = 10000, scope = 'own', min_count: minCount = 1 }) {
    if (!['own', 'all'].includes(scope)) throw new CommandError(`scope must be own or all, not ${scope}`)
    return waitUntil(
      () => saved.count >= minCount && savedCovers(scope) && commands.saved(),
      timeoutMs, `saved (scope ${scope}, at least ${minCount} message(s))`,
      () => ({ savedCount: saved.count, stored: clocksOf(saved.vector), local: clocksOf(localVector()) }))
  },
  wait_field ({ key, value, timeout_ms: timeoutMs = 10000 }) {
    return waitUntil(() => isDeepStrictEqual(fieldValue(key), value) && { value },
      timeoutMs, `fields.${key} == ${JSON.stringify(value)}`, () => ({ current: fieldValue(key) ?? null }))
  },
  wait_close ({ code = null, timeout_ms: timeoutMs = 10000 }) {
    return waitUntil(() => closes.find((close) => code === null || close.code === code),
      timeoutMs, `close ${code ?? '(any code)'}`, () => ({ closeCodes: closes.map((c) => c.code) }))
  },
  awareness_set ({ state }) {
    awareness.setLocalState(state)
    return {}
  },
  awareness_get () {
    return { states: Object.fromEntries(awareness.getStates()) }
  },
  wait_awareness ({ client_id: clientId, timeout_ms: timeoutMs = 10000 }) {
    return waitUntil(() => awareness.getStates().has(clientId) && { state: awareness.getStates().get(clientId) },
      timeoutMs, `awareness of client ${clientId}`)
  },
  send_raw ({ data }) {
    const ws = requireProvider().ws
    if (ws === null || ws.readyState !== WebSocket.OPEN) throw new CommandError('socket not open')
    ws.send(Buffer.from(data, 'base64'))
    return {}
  },
  close () {
    shutdown()
    return {}
  }
}

let closing = false
const shutdown = () => {
  if (closing) return
  closing = true
  // Deferred one macrotask, so replies still pending in microtasks are written first.
  setImmediate(() => {
    const ws = provider?.ws ?? null
    provider?.destroy() // starts the close handshake, so the server sees a clean close
    doc.destroy()
    // Exit once the socket has closed (bounded) and stdout has been flushed.
    const exit = () => process.stdout.write('', () => process.exit(0))
    if (ws === null || ws.readyState === WebSocket.CLOSED) return exit()
    ws.once('close', exit)
    setTimeout(exit, 1000).unref()
  })
}

const handle = async (line) => {
  let id = null
  try {
    const { id: requestId = null, cmd, ...args } = JSON.parse(line)
    id = requestId
    if (!Object.hasOwn(commands, cmd)) throw new CommandError(`unknown command ${cmd}`)
    write({ id, ok: true, ...(await commands[cmd](args)) })
  } catch (err) {
    write({ id, ok: false, error: err?.message ?? String(err), ...(err?.details ?? {}) })
  }
}

// An error outside a command must not kill the process: report it and carry on.
process.on('uncaughtException', (err) => { errors.push(String(err?.stack ?? err)); emit('error', { message: String(err) }) })
process.on('unhandledRejection', (err) => { errors.push(String(err?.stack ?? err)); emit('error', { message: String(err) }) })
process.stdout.on('error', () => process.exit(0)) // the driver is gone
readline.createInterface({ input: process.stdin }).on('line', handle).on('close', shutdown)
emit('ready', { clientId: doc.clientID })
