// Real GraphQL clients against the history API: Apollo Client (InMemoryCache with
// relayStylePagination) and urql (graphcache with relayPagination), over HTTP with a
// cookie session and the CSRF header, as a frontend would use them.
//
//   node cache_check.mjs '{"url": "http://localhost:8000/graphql/", "username": ...,
//     "password": ..., "schemaPath": "schema.graphql", "pageSize": 2,
//     "apollo": {"productId": "1", "asOf": "..."}, "urql": {"productId": "2", ...}}'
//
// CACHE_CHECK_DEBUG=1 prints each step, request and client warning on stderr.
//
// Prints one JSON object: what each client's normalized cache holds after paging a
// timeline, reading a diff, an as-of and a node, and reverting (a conflict, then a
// success). tests/graphql_api/test_clients.py runs it and checks it against the
// database. Any failed request or unexpected answer exits non-zero with a message.

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import { Client, fetchExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";
import { readFileSync } from "node:fs";
import { buildSchema, introspectionFromSchema, isAbstractType } from "graphql";
import { filter, firstValueFrom } from "rxjs";

const config = JSON.parse(process.argv[2] ?? "{}");
let step = "start"; // named in any failure
const at = (name) => {
  step = name;
  if (process.env.CACHE_CHECK_DEBUG) process.stderr.write(`step: ${name}\n`);
};
// Never hang the test: a stuck request fails with the step it was in.
setTimeout(() => fail(new Error(`timed out after 60 s at step ${step}`)), 60_000).unref();

// Cache warnings (a missing key, data lost when merging) are failures here: keep them.
const warnings = [];
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => {
    warnings.push(args.map(String).join(" "));
    if (process.env.CACHE_CHECK_DEBUG) original(...args);
  };
}

// -- A session: cookies kept by hand (Node's fetch has no jar), CSRF header on every
// request once known. ----------------------------------------------------------------

function makeSession(url) {
  const jar = new Map();
  const state = { csrfToken: null, requests: [] };

  function keepCookies(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key, val = ""] = a.trim().split("=");
        if (key.toLowerCase() === "max-age") return Number(val) <= 0;
        if (key.toLowerCase() === "expires") return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
  }

  async function sessionFetch(input, init = {}) {
    const headers = new Headers(init.headers ?? {});
    if (jar.size) {
      headers.set("Cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    if (state.csrfToken) headers.set("X-CSRFToken", state.csrfToken);
    if (process.env.CACHE_CHECK_DEBUG) {
      process.stderr.write(`request ${init.method ?? "GET"} ${String(init.body ?? input).slice(0, 300)}\n`);
    }
    const response = await fetch(input, { ...init, headers });
    keepCookies(response);
    state.requests.push({ method: init.method ?? "GET", status: response.status });
    if (!response.ok) {
      const body = await response.clone().text();
      throw new Error(`HTTP ${response.status} from ${init.method ?? "GET"}: ${body.slice(0, 300)}`);
    }
    return response;
  }

  // Under either CSRF rule (every POST needs the token, or only mutations do), a GET
  // query needs none: read csrfToken that way first.
  async function fetchCsrfToken() {
    const query = encodeURIComponent("query CsrfToken { csrfToken }");
    const response = await sessionFetch(`${url}?query=${query}`, {
      headers: { Accept: "application/json" },
    });
    const body = await response.json();
    if (!body.data?.csrfToken) throw new Error(`no csrfToken: ${JSON.stringify(body)}`);
    state.csrfToken = body.data.csrfToken;
    return body.data.csrfToken;
  }

  return { fetch: sessionFetch, fetchCsrfToken, state };
}

// -- Documents (the same for both clients). --------------------------------------------

const LOGIN = gql`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      __typename
      ... on LoginSuccess {
        user { id username }
        csrfToken
      }
      ... on OperationInfo { messages { code message } }
    }
  }
`;

const TIMELINE = gql`
  query Timeline($id: ID!, $first: Int!, $after: String) {
    productHistory(id: $id, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node { id historyId historyType price objectId productId }
      }
    }
  }
`;

const DIFF = gql`
  query Diff($id: ID!, $from: VersionRef!, $to: VersionRef) {
    productDiff(id: $id, from: $from, to: $to) {
      from { id historyId price }
      to { id historyId price }
      changes { field old new }
    }
  }
`;

const AS_OF = gql`
  query AsOf($id: ID!, $timestamp: DateTime!) {
    productAsOf(id: $id, timestamp: $timestamp) { id historyId price }
  }
`;

const NODE = gql`
  query Node($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on ProductVersion { historyId price }
    }
  }
`;

const REVERT = gql`
  mutation Revert($id: ID!, $to: VersionRef!, $expected: ID) {
    revertProduct(id: $id, to: $to, expectedHistoryId: $expected, reason: "client test") {
      __typename
      ... on RevertProductPayload {
        product { id productId price }
        version { id historyId historyType price }
      }
      ... on OperationInfo { messages { code field } }
    }
  }
`;

// The schema, as a frontend gets it at build time (codegen): Apollo needs the possible
// types of interfaces and unions, graphcache the whole introspection.
const schema = buildSchema(readFileSync(config.schemaPath, "utf8"));
const introspection = introspectionFromSchema(schema);
const possibleTypes = {};
for (const type of Object.values(schema.getTypeMap())) {
  if (isAbstractType(type) && !type.name.startsWith("__")) {
    possibleTypes[type.name] = schema.getPossibleTypes(type).map((t) => t.name);
  }
}

const versionOf = (node) => ({ id: node.id, historyId: node.historyId, price: node.price });
// A revert's answer without the __typename Apollo adds to every object.
const revertOf = (answer) =>
  answer.__typename === "OperationInfo"
    ? { __typename: answer.__typename, messages: answer.messages.map(({ code, field }) => ({ code, field })) }
    : {
        __typename: answer.__typename,
        product: { id: answer.product.id, productId: answer.product.productId, price: answer.product.price },
        version: answer.version && { ...versionOf(answer.version), historyType: answer.version.historyType },
      };
const timelineOf = (data) => data.productHistory.edges.map((e) => versionOf(e.node));

function checkLogin(data, session) {
  const login = data.login;
  if (login.__typename !== "LoginSuccess") {
    throw new Error(`login refused: ${JSON.stringify(login)}`);
  }
  session.state.csrfToken = login.csrfToken; // login rotates it
  return login.user.username;
}

// -- Apollo Client. -------------------------------------------------------------------

async function runApollo({ url, username, password, pageSize, productId, asOf }) {
  at("apollo csrf token");
  const session = makeSession(url);
  await session.fetchCsrfToken();
  const cache = new InMemoryCache({
    possibleTypes,
    typePolicies: {
      Query: {
        fields: { productHistory: relayStylePagination(["id", "since", "until", "types"]) },
      },
    },
  });
  const client = new ApolloClient({ link: new HttpLink({ uri: url, fetch: session.fetch }), cache });
  const out = { client: "apollo" };

  at("apollo login");
  const login = await client.mutate({ mutation: LOGIN, variables: { username, password } });
  out.user = checkLogin(login.data, session);

  // A timeline, paged with fetchMore into one list (relayStylePagination merges).
  at("apollo timeline");
  const variables = { id: productId, first: pageSize };
  const watched = client.watchQuery({ query: TIMELINE, variables });
  const subscription = watched.subscribe(() => {});
  // The watched query emits the merged list a moment after fetchMore resolves.
  const settled = (predicate) =>
    firstValueFrom(watched.pipe(filter((r) => !r.loading && r.data && predicate(r.data.productHistory))));
  const pageAll = async (first) => {
    let connection = first.productHistory;
    let pages = 1;
    while (connection.pageInfo.hasNextPage) {
      const count = connection.edges.length;
      const page = await watched.fetchMore({ variables: { after: connection.pageInfo.endCursor } });
      const end = page.data.productHistory.pageInfo.endCursor;
      const merged = await settled((c) => c.edges.length > count && c.pageInfo.endCursor === end);
      connection = merged.data.productHistory;
      pages += 1;
    }
    return { pages, totalCount: connection.totalCount };
  };
  const paged = await pageAll((await settled(() => true)).data);
  out.pages = paged.pages;
  out.totalCount = paged.totalCount;
  const readTimeline = () => timelineOf(client.readQuery({ query: TIMELINE, variables }));
  out.timeline = readTimeline();
  const newest = out.timeline[0];
  const oldest = out.timeline[out.timeline.length - 1];

  // A diff between the oldest and the newest version: two distinct cache entries.
  const diffVariables = {
    id: productId,
    from: { historyId: oldest.historyId },
    to: { historyId: newest.historyId },
  };
  at("apollo diff");
  await client.query({ query: DIFF, variables: diffVariables });
  const diff = client.readQuery({ query: DIFF, variables: diffVariables }).productDiff;
  out.diff = { from: versionOf(diff.from), to: versionOf(diff.to), changes: diff.changes };
  out.timelineAfterDiff = readTimeline();

  // As of an instant; then the oldest version refetched by its id.
  at("apollo as-of and node");
  await client.query({ query: AS_OF, variables: { id: productId, timestamp: asOf } });
  const asOfData = client.readQuery({ query: AS_OF, variables: { id: productId, timestamp: asOf } });
  out.asOf = versionOf(asOfData.productAsOf);
  const node = await client.query({ query: NODE, variables: { id: oldest.id }, fetchPolicy: "network-only" });
  out.node = { __typename: node.data.node.__typename, ...versionOf(node.data.node) };

  // Revert: a stale expectedHistoryId is a conflict; the right one succeeds.
  const to = { historyId: oldest.historyId };
  at("apollo revert");
  const conflict = await client.mutate({
    mutation: REVERT,
    variables: { id: productId, to, expected: oldest.historyId },
  });
  out.conflict = revertOf(conflict.data.revertProduct);
  const reverted = await client.mutate({
    mutation: REVERT,
    variables: { id: productId, to, expected: newest.historyId },
  });
  const payload = reverted.data.revertProduct;
  out.revert = revertOf(payload);
  if (payload.__typename === "RevertProductPayload") {
    const key = cache.identify(payload.product);
    out.cachedProduct = { key, price: cache.extract()[key]?.price };
  }

  // The timeline again from the first page: the new version on top, nothing repeated.
  at("apollo timeline after revert");
  const repaged = await pageAll((await watched.refetch()).data);
  out.pagesAfterRevert = repaged.pages;
  out.timelineAfterRevert = readTimeline();
  subscription.unsubscribe();

  // Every ProductVersion entry of the normalized cache, as stored.
  const entries = cache.extract();
  out.cachedVersions = Object.entries(entries)
    .filter(([key]) => key.startsWith("ProductVersion:"))
    .map(([key, value]) => ({ key, id: value.id, historyId: value.historyId, price: value.price }));
  out.requests = session.state.requests;
  client.stop();
  return out;
}

// -- urql with graphcache. --------------------------------------------------------------

async function runUrql({ url, username, password, pageSize, productId, asOf }) {
  at("urql csrf token");
  const session = makeSession(url);
  await session.fetchCsrfToken();
  const embedded = () => null; // types without an id live inside their parent
  const client = new Client({
    url,
    fetch: session.fetch,
    exchanges: [
      cacheExchange({
        schema: introspection,
        keys: {
          PageInfo: embedded,
          ProductVersionConnection: embedded,
          ProductVersionEdge: embedded,
          ProductDiff: embedded,
          FieldChange: embedded,
          RevertProductPayload: embedded,
          OperationInfo: embedded,
          OperationMessage: embedded,
          LoginSuccess: embedded,
        },
        resolvers: { Query: { productHistory: relayPagination() } },
        updates: {
          Mutation: {
            // A revert adds a version: drop the cached timeline pages of that object.
            revertProduct(_result, args, cache) {
              for (const field of cache.inspectFields("Query")) {
                if (field.fieldName === "productHistory" && field.arguments?.id === args.id) {
                  cache.invalidate("Query", field.fieldName, field.arguments);
                }
              }
            },
          },
        },
      }),
      fetchExchange,
    ],
  });
  const out = { client: "urql" };
  const run = async (promise) => {
    const result = await promise;
    if (result.error) throw new Error(`urql: ${result.error.message}`);
    return result.data;
  };
  const query = (document, variables, requestPolicy = "cache-first") =>
    run(client.query(document, variables, { requestPolicy }).toPromise());
  const mutate = (document, variables) => run(client.mutation(document, variables).toPromise());
  const read = (document, variables) => {
    const result = client.readQuery(document, variables);
    if (!result?.data) throw new Error("urql: not in the cache");
    return result.data;
  };

  at("urql login");
  out.user = checkLogin(await mutate(LOGIN, { username, password }), session);

  // The timeline, page by page; relayPagination merges the pages in the cache.
  const variables = { id: productId, first: pageSize };
  const pageAll = async (requestPolicy) => {
    let data = await query(TIMELINE, variables, requestPolicy);
    let pages = 1;
    let end = data.productHistory.pageInfo;
    while (end.hasNextPage) {
      data = await query(TIMELINE, { ...variables, after: end.endCursor }, requestPolicy);
      end = data.productHistory.pageInfo;
      pages += 1;
    }
    return { pages, totalCount: data.productHistory.totalCount };
  };
  const readTimeline = () => timelineOf(read(TIMELINE, variables));
  at("urql timeline");
  const paged = await pageAll("cache-first");
  out.pages = paged.pages;
  out.totalCount = paged.totalCount;
  out.timeline = readTimeline();
  const newest = out.timeline[0];
  const oldest = out.timeline[out.timeline.length - 1];

  const diffVariables = {
    id: productId,
    from: { historyId: oldest.historyId },
    to: { historyId: newest.historyId },
  };
  at("urql diff");
  await query(DIFF, diffVariables);
  const diff = read(DIFF, diffVariables).productDiff;
  out.diff = { from: versionOf(diff.from), to: versionOf(diff.to), changes: diff.changes };
  out.timelineAfterDiff = readTimeline();

  at("urql as-of and node");
  await query(AS_OF, { id: productId, timestamp: asOf });
  out.asOf = versionOf(read(AS_OF, { id: productId, timestamp: asOf }).productAsOf);
  const node = (await query(NODE, { id: oldest.id }, "network-only")).node;
  out.node = { __typename: node.__typename, ...versionOf(node) };

  const to = { historyId: oldest.historyId };
  at("urql revert");
  out.conflict = revertOf((await mutate(REVERT, { id: productId, to, expected: oldest.historyId })).revertProduct);
  out.revert = revertOf((await mutate(REVERT, { id: productId, to, expected: newest.historyId })).revertProduct);

  at("urql timeline after revert");
  const repaged = await pageAll("cache-first"); // the invalidated pages come from the server
  out.pagesAfterRevert = repaged.pages;
  out.timelineAfterRevert = readTimeline();
  out.requests = session.state.requests;
  return out;
}

// -- Main. --------------------------------------------------------------------------------

function fail(error) {
  process.stderr.write(`failed at step ${step}: ${error?.stack ?? error}\n`);
  if (warnings.length) process.stderr.write(`warnings:\n${warnings.join("\n")}\n`);
  process.exit(1);
}

try {
  const shared = { url: config.url, username: config.username, password: config.password, pageSize: config.pageSize };
  const apollo = await runApollo({ ...shared, ...config.apollo });
  const urql = await runUrql({ ...shared, ...config.urql });
  process.stdout.write(`${JSON.stringify({ apollo, urql, warnings })}\n`);
} catch (error) {
  fail(error);
}
