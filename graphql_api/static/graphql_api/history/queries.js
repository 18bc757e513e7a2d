// GraphQL documents built from the model's description (trackedModel): the page
// has no code per model. Names come from the API and are checked to be names.

export const PAGE_SIZE = 20;

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

function name(value) {
  if (!NAME.test(value)) throw new Error(`Not a GraphQL name: ${value}`);
  return value;
}

export const SESSION = "query Session { me { username } }";

export const MODEL = `query Model($label: String!) {
  trackedModel(label: $label) {
    label verboseName verboseNamePlural typeName
    historyField asOfField diffField revertField canRevert canRestore
    fieldInfo {
      name label kind primaryKey helpText decimalPlaces
      choices { value label } relatedModel relatedField
    }
  }
}`;

export const LOGIN = `mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    __typename
    ... on LoginSuccess { user { username } csrfToken }
    ... on OperationInfo { messages { code message field } }
  }
}`;

export const LOGOUT = "mutation Logout { logout }";

/** The selection of a version's tracked values (related objects by name). */
function values(model) {
  return model.fieldInfo
    .map((f) =>
      f.relatedField
        ? `${name(f.name)} ${name(f.relatedField)} { id objectId display }`
        : name(f.name)
    )
    .join(" ");
}

function relations(model) {
  return model.fieldInfo
    .filter((f) => f.relatedField)
    .map((f) => `${name(f.relatedField)} { id objectId display }`)
    .join(" ");
}

const META = `id historyId historyDate historyType historyChangeReason
  historyUser { username } historyContext display`;

/** One page of the timeline, newest first, with what changed in each version. */
export function timeline(model) {
  const previous = relations(model) ? `prevVersion { id ${relations(model)} }` : "";
  return `query Timeline($id: ID!, $first: Int!, $after: String) {
  history: ${name(model.historyField)}(id: $id, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      ${META} ${values(model)}
      changes { field old new }
      ${previous}
    } }
  }
}`;
}

/** The object as of an instant, and the version in force then (deleted ones too). */
export function asOf(model) {
  return `query AsOf($id: ID!, $at: DateTime!) {
  state: ${name(model.asOfField)}(id: $id, timestamp: $at) { ${META} ${values(model)} }
  inForce: ${name(model.historyField)}(id: $id, until: $at, first: 1) {
    edges { node { id historyId historyDate historyType historyUser { username } } }
  }
  first: ${name(model.historyField)}(id: $id, last: 1) {
    edges { node { id historyId historyDate } }
  }
}`;
}

/** Two versions side by side, and the fields that differ. */
export function diff(model) {
  return `query Diff($id: ID!, $from: ID!, $to: ID!) {
  diff: ${name(model.diffField)}(id: $id, from: {historyId: $from}, to: {historyId: $to}) {
    from { ${META} ${values(model)} }
    to { ${META} ${values(model)} }
    changes { field old new }
  }
}`;
}

/** A revert (dryRun: a preview); expected failures come back as OperationInfo. */
export function revert(model) {
  return `mutation Revert($id: ID!, $to: ID!, $reason: String, $expected: ID,
    $dryRun: Boolean!) {
  result: ${name(model.revertField)}(id: $id, to: {historyId: $to}, reason: $reason,
      expectedHistoryId: $expected, dryRun: $dryRun) {
    __typename
    ... on OperationInfo { messages { code message field } }
    ... on Revert${name(model.typeName.replace(/Version$/, ""))}Payload {
      dryRun restored changes { field old new }
      version { id historyId }
    }
  }
}`;
}
