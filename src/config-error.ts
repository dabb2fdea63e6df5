/** A bad or missing setting: start-up stops with one line naming the variable. */
export class ConfigError extends Error {}
