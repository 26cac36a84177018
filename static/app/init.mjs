// Start GOV.UK Frontend components on every page (no build step; CSP allows 'self').
import { initAll } from '/assets/js/govuk-frontend.min.js'
import { wrapWideTables } from './scroll-regions.mjs'
initAll()
wrapWideTables()
// htmx swaps in new rows and tables (tracker, agenda): wrap those too.
document.body.addEventListener('htmx:afterSettle', (event) => wrapWideTables(event.target))
