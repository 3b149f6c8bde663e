// Starts GOV.UK Frontend and MoJ Frontend components (external module: no inline script).
import { initAll } from "../govuk-frontend.min.js";
initAll();
