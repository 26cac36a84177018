// Start GOV.UK Frontend components on every page (no build step; CSP allows 'self').
import { initAll } from '/assets/js/govuk-frontend.min.js'
initAll()
