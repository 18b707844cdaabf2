// The console's page icon (a portcullis), so browsers do not ask the admin API for /favicon.ico.

export const CONSOLE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1b1f24"/><path d="M4 3v11M8 3v11M12 3v11M3 6h10M3 10h10" stroke="#dbe7ff" stroke-width="1.5"/></svg>`;
