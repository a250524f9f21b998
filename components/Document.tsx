/**
 * The HTML document around every page (server-only): head, style sheet, favicon, and a
 * `<noscript>` banner that says the live client needs JavaScript.
 *
 * @module
 */

import type { ComponentChildren } from "preact";

/** Props of {@linkcode Document}. */
export interface DocumentProps {
  title: string;
  /** URL of the style sheet (content-hashed), or null to render unstyled. */
  styleHref: string | null;
  children: ComponentChildren;
}

const FAVICON = "data:image/svg+xml," + encodeURIComponent(
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="4" fill="#6d5efc"/><path d="M6.3 6.3a8 8 0 0 0 0 11.4M17.7 6.3a8 8 0 0 1 0 11.4" fill="none" stroke="#6d5efc" stroke-width="2" stroke-linecap="round"/></svg>`,
);

/**
 * Renders the document.
 *
 * @example
 * ```tsx
 * <Document title="Fanout" styleHref="/assets/app.abc.css"><p>hi</p></Document>
 * ```
 */
export function Document({ title, styleHref, children }: DocumentProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta
          name="viewport"
          content="width=device-width, initial-scale=1, interactive-widget=resizes-content"
        />
        <meta name="color-scheme" content="light dark" />
        <meta name="theme-color" content="#f6f7fb" media="(prefers-color-scheme: light)" />
        <meta name="theme-color" content="#0f1117" media="(prefers-color-scheme: dark)" />
        <meta name="description" content="Fanout: real-time rooms over WebSocket." />
        <title>{title}</title>
        <link rel="icon" href={FAVICON} />
        {styleHref && <link rel="stylesheet" href={styleHref} />}
      </head>
      <body>
        <noscript>
          <div class="noscript" role="alert">
            <strong>JavaScript is needed.</strong>{" "}
            Fanout connects to the room over a WebSocket from your browser; with JavaScript turned
            off you see the page but cannot chat.
          </div>
        </noscript>
        {children}
      </body>
    </html>
  );
}
