// The operator's pages (signed in with the admin token), one module each: access requests,
// organizations and one organization's page, the queue, the recent failures.

import { accessRequestsPage } from "./operator-access-requests.js";
import { failuresPage } from "./operator-failures.js";
import { organizationPage } from "./operator-organization.js";
import { organizationsPage } from "./operator-organizations.js";
import { queuePage } from "./operator-queue.js";

export const operatorNavigation = [
  ["#/operator/access-requests", "Access requests"],
  ["#/operator/organizations", "Organizations"],
  ["#/operator/queue", "Queue"],
  ["#/operator/failures", "Failures"],
];

// `#/operator/organizations` lists them; `#/operator/organizations/<id>` is one (the params).
const organizations = {
  title: "Organizations",
  render: (ctx) => (ctx.params.length ? organizationPage.render(ctx) : organizationsPage.render(ctx)),
};

export const operatorPages = {
  "access-requests": accessRequestsPage,
  organizations,
  queue: queuePage,
  failures: failuresPage,
};
