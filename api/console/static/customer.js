// The customer's pages (signed in with an API key). To be written: playground, videos, video,
// usage, webhooks; request-access is public (no sign-in).

export const customerNavigation = [
  ["#/playground", "Playground"],
  ["#/videos", "Videos"],
  ["#/usage", "Usage"],
  ["#/webhooks", "Webhooks"],
];

export const customerPages = {};

export const publicPages = {};
