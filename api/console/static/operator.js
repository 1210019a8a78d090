// The operator's pages (signed in with the admin token). To be written: access requests,
// organizations, queue, failures.

export const operatorNavigation = [
  ["#/operator/access-requests", "Access requests"],
  ["#/operator/organizations", "Organizations"],
  ["#/operator/queue", "Queue"],
  ["#/operator/failures", "Failures"],
];

export const operatorPages = {};
