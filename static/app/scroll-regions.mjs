// Wide tables scroll inside their own labelled region (the MoJ "scrollable pane" pattern), so
// the page itself never scrolls sideways at 1280 px or on a phone. A region written in the
// template (.app-table-scroll) is kept; either way it is focusable, so keyboard users can
// scroll it, and named after the table's caption.
export function wrapWideTables (root = document) {
  for (const table of root.querySelectorAll('table.govuk-table')) {
    let region = table.closest('.app-table-scroll')
    if (!region) {
      region = document.createElement('div')
      region.className = 'app-table-scroll'
      table.parentNode.insertBefore(region, table)
      region.appendChild(table)
    }
    if (!region.hasAttribute('role')) {
      const caption = table.querySelector('caption')
      const heading = caption ? caption.textContent.trim() : ''
      region.setAttribute('role', 'region')
      region.setAttribute('tabindex', '0')
      region.setAttribute('aria-label', heading ? `${heading} (scrolls sideways)` : 'Table (scrolls sideways)')
    }
  }
}
