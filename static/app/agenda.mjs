// Agenda reordering in place (panels): after htmx swaps the two lists, put the focus back on
// the control the coordinator used (or its neighbour when that one is now disabled or gone)
// and announce the change, so keyboard and screen-reader users keep their place.
const SECTIONS = 'agenda-sections'
let last = null

document.addEventListener('htmx:beforeRequest', (event) => {
  const form = event.detail && event.detail.elt
  const button = form && form.querySelector && form.querySelector('button[data-item]')
  last = button ? { id: button.id, item: button.dataset.item } : null
})

function refocus () {
  if (!last) return
  const item = last.item
  const candidates = [last.id, `up-${item}`, `down-${item}`, `discuss-${item}`, `inform-${item}`]
  for (const id of candidates) {
    const el = document.getElementById(id)
    if (el && !el.disabled) { el.focus(); return }
  }
}

document.addEventListener('htmx:afterSettle', (event) => {
  const target = document.getElementById(SECTIONS)
  if (!target) return
  refocus()
  const live = document.getElementById('agenda-announce')
  if (live) live.textContent = target.dataset.announce || ''
})

// Signed out or access withdrawn: show the full page instead of a half-swapped one.
document.addEventListener('htmx:responseError', () => { window.location.reload() })
