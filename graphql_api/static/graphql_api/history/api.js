// The GraphQL client of the page: fetch with the session cookie, and for mutations
// the X-CSRFToken header read from the API's csrfToken query (see the README,
// "Frontends on another origin"). Errors become ApiError with the API's code.

export class ApiError extends Error {
  constructor(message, code = null, details = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.details = details;
  }
}

const NETWORK_MESSAGE = "The server could not be reached.";

export class Api {
  constructor(endpoint) {
    this.endpoint = endpoint;
    this.csrfToken = null;
  }

  /** Run a query; resolve to its data, or reject with the first ApiError. */
  query(document, variables = {}) {
    return this.#post(document, variables, {});
  }

  /**
   * Run a mutation, with a CSRF token (asked for once, renewed by login). A refused
   * token (the csrftoken cookie was renewed or cleared meanwhile) ran nothing: a
   * fresh one is asked for and the mutation sent once more.
   */
  async mutate(document, variables = {}) {
    for (let attempt = 0; ; attempt += 1) {
      if (this.csrfToken === null) {
        const data = await this.query("query CsrfToken { csrfToken }");
        this.csrfToken = data.csrfToken;
      }
      try {
        return await this.#post(document, variables, { "X-CSRFToken": this.csrfToken });
      } catch (error) {
        if (error.code !== "CSRF_FAILED" || attempt > 0) throw error;
        this.csrfToken = null;
      }
    }
  }

  async #post(document, variables, headers) {
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          ...headers,
        },
        body: JSON.stringify({ query: document, variables }),
      });
    } catch (error) {
      throw new ApiError(NETWORK_MESSAGE, "NETWORK");
    }
    let body;
    try {
      body = await response.json();
    } catch (error) {
      throw new ApiError(
        `The server answered with HTTP ${response.status} and no GraphQL response.`,
        "HTTP_" + response.status
      );
    }
    const errors = body && body.errors;
    if (errors && errors.length) {
      const first = errors[0];
      const extensions = first.extensions || {};
      throw new ApiError(first.message, extensions.code || null, extensions);
    }
    return body.data;
  }
}

/**
 * The expected failure of a mutation returned as data (OperationInfo), as an
 * ApiError; null when the result is a success.
 */
export function operationError(result) {
  if (!result || result.__typename !== "OperationInfo") return null;
  const message = (result.messages && result.messages[0]) || {};
  return new ApiError(message.message || "The operation failed.", message.code, {
    field: message.field,
  });
}
