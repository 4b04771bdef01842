// A new version of the app takes effect on the next load: a page that has just loaded, before it shows
// anything, finds out whether a newer version waits (its service worker installed meanwhile); if this
// page is the only one open, that version takes over and the page loads again, wholly from its cache
// (sw.js). With other pages open, this one runs the version it was loaded with.
import { TAKE_OVER } from './shell.js'

/**
 * Resolves true when the page is being loaded again in the new version (show nothing), else false.
 * @returns {Promise<boolean>}
 */
export async function loadNewVersion () {
  const workers = navigator.serviceWorker
  const waiting = workers && (await workers.getRegistration())?.waiting
  if (!waiting || !workers.controller) return false
  const taking = await new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = (event) => resolve(event.data === true)
    waiting.postMessage(TAKE_OVER, [channel.port2])
  })
  if (!taking) return false
  // Once the new worker controls this page, every file of the next load comes from its cache.
  if (workers.controller !== waiting) {
    await new Promise((resolve) => workers.addEventListener('controllerchange', resolve, { once: true }))
  }
  location.reload()
  return true
}
