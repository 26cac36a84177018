// Live tracker (cohort): never redraw the table under the user's focus.
// htmx trigger filters need eval, which the CSP forbids, so the check lives here instead.
const REGION = 'tracker'
const RESULTS = 'tracker-results'

function isTrackerPoll (event) {
  const elt = event.detail && event.detail.elt
  return Boolean(elt && elt.id === RESULTS)
}

document.addEventListener('htmx:beforeRequest', (event) => {
  if (!isTrackerPoll(event)) return
  const region = document.getElementById(REGION)
  const active = document.activeElement
  if (region && active && active !== document.body && region.contains(active)) {
    event.preventDefault() // the user is in the table or the filters: try again at the next tick
  }
})

// Signed out, or access withdrawn: show the full page (sign-in or the error) instead.
document.addEventListener('htmx:responseError', (event) => {
  if (!isTrackerPoll(event)) return
  const status = event.detail.xhr ? event.detail.xhr.status : 0
  if (status === 401 || status === 403 || status === 404) {
    window.location.reload()
  }
})
