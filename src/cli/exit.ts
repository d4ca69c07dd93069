// Exit statuses for every command (DESIGN §2).
export const EXIT_OK = 0; // all is well, or the action succeeded
export const EXIT_PROBLEM = 1; // a problem was found, or the action failed
export const EXIT_USAGE = 2; // usage error, bad input or internal error
