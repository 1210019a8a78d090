// The customer's pages (signed in with an API key), one module each: the playground, the videos
// (grid and one video's page), usage, webhooks; and request-access, which needs no sign-in.

import { requestAccessPage } from "./customer-access.js";
import { playgroundPage } from "./customer-playground.js";
import { usagePage } from "./customer-usage.js";
import { videosPage } from "./customer-videos.js";
import { webhooksPage } from "./customer-webhooks.js";

export const customerNavigation = [
  ["#/playground", "Playground"],
  ["#/videos", "Videos"],
  ["#/usage", "Usage"],
  ["#/webhooks", "Webhooks"],
];

export const customerPages = {
  playground: playgroundPage,
  videos: videosPage, // #/videos and #/videos/<id>
  usage: usagePage,
  webhooks: webhooksPage,
};

export const publicPages = {
  "request-access": requestAccessPage,
};
