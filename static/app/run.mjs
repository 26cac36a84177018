// Meeting mode (panels): after htmx swaps in the next item, move the focus to its heading
// (so keyboard and screen-reader users start there) and announce what was saved.
document.addEventListener('htmx:afterSettle', () => {
  const panel = document.getElementById('run-item')
  if (!panel) return
  const errors = document.getElementById('run-errors')
  const target = errors || document.getElementById('item-heading')
  if (target) { target.setAttribute('tabindex', '-1'); target.focus() }
  const live = document.getElementById('run-announce')
  if (live) live.textContent = panel.dataset.announce || ''
})

document.addEventListener('htmx:responseError', () => { window.location.reload() })
