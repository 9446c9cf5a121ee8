/**
 * The polystore browser demo: two people chat live through nothing but the public API.
 *
 * - Identity: a bearer token from the URL fragment (`/demo#token=…`). Browsers never send the
 *   fragment, so the token stays out of request logs; it goes only into Authorization headers.
 * - Opening a conversation: the head of its event log first, then the newest messages, then a
 *   live stream from that head. An event that repeats what the snapshot already shows is applied
 *   again harmlessly: a message is replaced only by an equal or newer version.
 * - Live: EventSource cannot send Authorization, so each connection uses a fresh single-use
 *   ticket (POST /v1/stream-tickets) and names the last seq it applied (`after=`). On any error
 *   the page closes the EventSource itself (its own reconnect would reuse the spent ticket) and
 *   reconnects with a new ticket, backing off from 250 ms to 5 s. Events at or below the last
 *   applied seq are dropped, so a resume never applies one twice.
 * - Sidebar: the inbox stream (GET /v1/events, with a ticket for `{stream: "inbox"}`) says when
 *   one of the caller's conversations changed, was joined or left; each of its items makes the
 *   page re-read the conversation list. It resumes from its last `id:` (the inbox cursor).
 * - Streamed messages (README, "Streamed messages"): a message posted `in_progress` grows by
 *   `message.delta` frames `{messageId, offset, text}` (offsets in code points of its last text
 *   part). The page applies each by offset: the part it already holds is skipped, the rest
 *   appended, and one that starts beyond its end is held until the gap fills. Subscribe, then
 *   read: the snapshot was read before the stream opened, so once it is open the page re-reads
 *   every message it shows in_progress; a gap that a held delta cannot fill makes it re-read that
 *   message too. The final `message.updated` replaces whatever was streamed.
 * - The DOM carries what tests read: each message's id, seq, author, version, state and when it
 *   was first shown as data attributes; when the composer last sent; the stream's state and how many times it connected on #status; on <body>, the
 *   last seq applied and what the streams delivered for the open conversation (events, repeats
 *   dropped, jumps past a missing seq, resets; delta frames, the code points they added, the ones
 *   that only repeated held text, the ones held past a gap, re-reads). A message also carries its
 *   status and statusReason (`data-status`, `data-status-reason`).
 */

const HEAD_PROBE = 2147483647;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
const MESSAGES_SHOWN = 100;
const EVENT_TYPES = [
  'conversation.created',
  'conversation.updated',
  'conversation.deleted',
  'participant.added',
  'participant.removed',
  'message.created',
  'message.updated',
  'message.deleted',
];
/**
 * Streamed text arrives as its own SSE event, which is not one of the log's event types (it has
 * no seq and is never stored), so it is kept apart from EVENT_TYPES.
 */
const DELTA_EVENT = 'message.delta';
/** A message whose held deltas leave a gap is re-read at most this often. */
const REREAD_MS = 500;
/** Deltas held beyond a gap, per message; past this the oldest go (the next re-read covers them). */
const HELD_MAX = 1000;

const $ = (selector) => document.querySelector(selector);

const state = {
  token: '',
  me: null,
  /** The open conversation's id, and a counter that retires everything started for an earlier one. */
  conversationId: null,
  generation: 0,
  /** The last event seq applied to the open conversation. */
  lastSeq: 0,
  /** Message id → the message as last shown; message id → its element. */
  messages: new Map(),
  elements: new Map(),
  source: null,
  ended: false,
  /** How often a stream of the open conversation connected. */
  connections: 0,
  /** What the streams delivered for the open conversation; none of repeats, skips and resets should happen. */
  feed: { received: 0, repeats: 0, skips: 0, resets: 0 },
  /**
   * Message id → the text streamed into it so far, for messages shown in_progress and for ones
   * whose deltas came before their message.created: `{known, text, length (code points), held,
   * rereading, rereadAt, timer}`, `held` being deltas that start beyond `length`.
   */
  streams: new Map(),
  /** What the delta frames did for the open conversation: received, text they added, repeats skipped, held, re-reads. */
  deltas: { received: 0, applied: 0, repeated: 0, held: 0, rereads: 0 },
  retryMs: RETRY_MIN_MS,
  retryTimer: 0,
};

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

/** One call of the public API as the signed-in user. */
async function api(method, path, body) {
  const headers = { authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

const conversationPath = (id) => `/v1/conversations/${encodeURIComponent(id)}`;

let errorTimer = 0;
function showError(error) {
  const box = $('#error');
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => {
    box.hidden = true;
  }, 6000);
}

/** A random id for clientMessageId (crypto.randomUUID needs a secure context; this does not). */
function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `demo-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// --- people ---

const names = new Map();
/** A user's display name, fetched once per user (their id while unknown). */
function displayName(userId) {
  if (!names.has(userId)) {
    names.set(
      userId,
      api('GET', `/v1/users/${encodeURIComponent(userId)}`).then(
        (user) => user.displayName,
        () => userId,
      ),
    );
  }
  return names.get(userId);
}

// --- the sidebar ---

let sidebarBusy = false;
let sidebarAgain = false;

/**
 * Re-reads the caller's conversation list (most recent activity first) and redraws the sidebar.
 * Called on start, after creating a conversation and whenever the inbox stream reports a change.
 * One read at a time; a call during a read causes one more.
 */
async function refreshSidebar() {
  if (sidebarBusy) {
    sidebarAgain = true;
    return;
  }
  sidebarBusy = true;
  try {
    do {
      sidebarAgain = false;
      const page = await api('GET', '/v1/conversations?limit=50');
      renderSidebar(page.data);
    } while (sidebarAgain);
  } catch (error) {
    showError(error);
  } finally {
    sidebarBusy = false;
  }
}

function renderSidebar(conversations) {
  const items = conversations.map((c) => {
    const item = document.createElement('li');
    item.dataset.conversationId = c.id;
    item.dataset.messageCount = String(c.messageCount);
    item.dataset.lastActivity = c.lastMessageAt ?? c.createdAt;
    item.setAttribute('aria-current', String(c.id === state.conversationId));
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'pick';
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = c.title ?? '(untitled)';
    const activity = document.createElement('span');
    activity.className = 'activity';
    const when = new Date(c.lastMessageAt ?? c.createdAt).toLocaleTimeString();
    activity.textContent = `${c.messageCount} message${c.messageCount === 1 ? '' : 's'} · ${when}`;
    button.append(title, activity);
    button.addEventListener('click', () => void openConversation(c.id));
    item.append(button);
    return item;
  });
  $('#conversations').replaceChildren(...items);
}

// --- the open conversation ---

function setStatus(name, text) {
  const status = $('#status');
  status.dataset.state = name;
  status.dataset.connections = String(state.connections);
  status.textContent = text;
}

function closeStream() {
  clearTimeout(state.retryTimer);
  if (state.source) state.source.close();
  state.source = null;
}

async function openConversation(id) {
  closeStream();
  const generation = ++state.generation;
  state.conversationId = id;
  state.lastSeq = 0;
  state.feed = { received: 0, repeats: 0, skips: 0, resets: 0 };
  for (const stream of state.streams.values()) clearTimeout(stream.timer);
  state.streams.clear();
  state.deltas = { received: 0, applied: 0, repeated: 0, held: 0, rereads: 0 };
  state.ended = false;
  state.connections = 0;
  state.retryMs = RETRY_MIN_MS;
  state.messages.clear();
  state.elements.clear();
  $('#conversation').dataset.conversationId = id;
  $('#messages').replaceChildren();
  $('#notice').hidden = true;
  $('#composer').hidden = false;
  for (const item of document.querySelectorAll('#conversations li')) {
    item.setAttribute('aria-current', String(item.dataset.conversationId === id));
  }
  try {
    const conversation = await api('GET', conversationPath(id));
    if (generation !== state.generation) return;
    $('#conversation-title').textContent = conversation.title ?? '(untitled)';
    if (!(await loadSnapshot(generation))) return;
  } catch (error) {
    if (generation === state.generation) showError(error);
    return;
  }
  void connect(generation);
}

/**
 * The head of the log, then the newest messages: every event after the head is delivered by the
 * stream, and any that the snapshot already reflects is applied harmlessly. Asking for the events
 * after a seq the log never reached answers one `reset` naming the log's last seq: the head.
 * False when another conversation was opened meanwhile.
 */
async function loadSnapshot(generation) {
  const id = state.conversationId;
  const head = await api('GET', `${conversationPath(id)}/events?after=${HEAD_PROBE}&limit=1`);
  const page = await api('GET', `${conversationPath(id)}/messages?limit=${MESSAGES_SHOWN}`);
  if (generation !== state.generation) return false;
  state.lastSeq = head.lastSeq;
  publishFeed();
  for (const message of page.data) applyMessage(message, null);
  return true;
}

/** Opens the live stream after state.lastSeq with a fresh ticket. */
async function connect(generation) {
  clearTimeout(state.retryTimer);
  setStatus(state.connections === 0 ? 'connecting' : 'reconnecting', 'connecting…');
  const id = state.conversationId;
  let ticket;
  try {
    ({ ticket } = await api('POST', '/v1/stream-tickets', { conversationId: id }));
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.status === 404) return end('This conversation is gone for you.');
    return retry(generation);
  }
  if (generation !== state.generation || state.ended) return;
  const query = new URLSearchParams({ ticket, after: String(state.lastSeq) });
  const source = new EventSource(`${conversationPath(id)}/events?${query}`);
  state.source = source;
  source.addEventListener('open', () => {
    if (state.source !== source) return;
    state.connections++;
    state.retryMs = RETRY_MIN_MS;
    setStatus('live', 'live');
    // Subscribed now: what was read before may be behind the deltas to come, so read it again.
    for (const message of state.messages.values())
      if (message.status === 'in_progress' && message.deletedAt === null) void reread(generation, message.id);
  });
  for (const type of EVENT_TYPES) source.addEventListener(type, (message) => onEvent(source, message));
  source.addEventListener(DELTA_EVENT, (message) => onDelta(source, message));
  source.addEventListener('reset', (message) => void onReset(source, generation, message));
  // A stream the gateway dropped (this page read too slowly) or that broke: resume with a new ticket.
  const resume = () => {
    if (state.source !== source) return;
    source.close();
    state.source = null;
    if (!state.ended) retry(generation);
  };
  source.addEventListener('overflow', resume);
  source.addEventListener('error', resume);
}

function publishFeed() {
  const body = document.body.dataset;
  body.lastSeq = String(state.lastSeq);
  body.eventsReceived = String(state.feed.received);
  body.eventsRepeated = String(state.feed.repeats);
  body.eventsSkipped = String(state.feed.skips);
  body.resets = String(state.feed.resets);
  body.deltasReceived = String(state.deltas.received);
  body.deltasApplied = String(state.deltas.applied);
  body.deltasRepeated = String(state.deltas.repeated);
  body.deltasHeld = String(state.deltas.held);
  body.rereads = String(state.deltas.rereads);
}

function retry(generation) {
  setStatus('reconnecting', `reconnecting in ${state.retryMs} ms…`);
  const delay = state.retryMs;
  state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
  state.retryTimer = setTimeout(() => {
    if (generation === state.generation) void connect(generation);
  }, delay);
}

/** The feed is over for this user: removed, or the conversation deleted. */
function end(text) {
  state.ended = true;
  closeStream();
  setStatus('ended', 'ended');
  $('#notice').textContent = text;
  $('#notice').hidden = false;
  $('#composer').hidden = true;
  void refreshSidebar();
}

function onEvent(source, message) {
  if (state.source !== source) return;
  const event = JSON.parse(message.data);
  state.feed.received++;
  if (event.seq <= state.lastSeq) {
    // Already applied (the log has no gaps and a resume names the last seq, so this is not expected).
    state.feed.repeats++;
    return publishFeed();
  }
  if (event.seq !== state.lastSeq + 1) state.feed.skips++;
  state.lastSeq = event.seq;
  publishFeed();
  switch (event.type) {
    case 'message.created':
    case 'message.updated':
    case 'message.deleted':
      applyMessage(event.data.message, event.seq);
      break;
    case 'conversation.updated':
      if ('title' in event.data.changes)
        $('#conversation-title').textContent = event.data.changes.title ?? '(untitled)';
      break;
    case 'conversation.deleted':
      end('This conversation was deleted.');
      break;
    case 'participant.removed':
      if (event.data.userId === state.me.id) end('You were removed from this conversation.');
      break;
  }
}

/** The events after the client's position are gone: re-read the messages, continue after the reset's seq. */
async function onReset(source, generation, message) {
  if (state.source !== source) return;
  const { data } = JSON.parse(message.data);
  state.feed.resets++;
  state.lastSeq = data.lastSeq;
  publishFeed();
  try {
    const page = await api('GET', `${conversationPath(state.conversationId)}/messages?limit=${MESSAGES_SHOWN}`);
    if (generation === state.generation) for (const m of page.data) applyMessage(m, null);
  } catch (error) {
    showError(error);
  }
}

// --- streamed messages ---

/** Code points of a string: the unit of a delta's offset. */
const codePoints = (text) => Array.from(text).length;

/** The text a stream appends to: the message's last part when that is text, else none yet. */
function streamedText(message) {
  const last = message.content.at(-1);
  return last?.type === 'text' ? last.text : '';
}

function streamFor(id) {
  let stream = state.streams.get(id);
  if (!stream) {
    stream = { known: false, text: '', length: 0, held: [], rereading: false, rereadAt: 0, timer: 0 };
    state.streams.set(id, stream);
  }
  return stream;
}

/**
 * Takes what a read or an event says a message in_progress holds. The longer of the two texts
 * wins: deltas may have run ahead of the last write, and a write may hold more than the deltas
 * seen (text streamed before this page subscribed).
 */
function adoptStored(message) {
  const stream = streamFor(message.id);
  const text = streamedText(message);
  const length = codePoints(text);
  if (!stream.known || length > stream.length) {
    stream.text = text;
    stream.length = length;
  }
  stream.known = true;
  settle(message.id, stream);
}

/**
 * Applies the held deltas that start at or before the end: each adds the part of its text beyond
 * the end, and one that lies wholly within the text is a repeat. What stays held leaves a gap,
 * which a re-read of the message closes.
 */
function settle(id, stream) {
  if (!stream.known) return;
  let moved = true;
  while (moved) {
    moved = false;
    for (let i = 0; i < stream.held.length; i++) {
      const delta = stream.held[i];
      if (delta.offset > stream.length) continue;
      stream.held.splice(i, 1);
      moved = true;
      const chars = Array.from(delta.text);
      const fresh = chars.slice(stream.length - delta.offset);
      if (fresh.length === 0) {
        state.deltas.repeated++;
        break;
      }
      stream.text += fresh.join('');
      stream.length += fresh.length;
      state.deltas.applied += fresh.length;
      break;
    }
  }
  if (stream.held.length > 0) scheduleReread(state.generation, id, stream);
}

function onDelta(source, frame) {
  if (state.source !== source) return;
  const delta = JSON.parse(frame.data);
  if (delta.conversationId !== state.conversationId) return;
  state.deltas.received++;
  const shown = state.messages.get(delta.messageId);
  // A delta that comes after the message ended (or was deleted) has nothing left to add.
  if (shown && (shown.status !== 'in_progress' || shown.deletedAt !== null)) {
    state.deltas.repeated++;
    return publishFeed();
  }
  const stream = streamFor(delta.messageId);
  stream.held.push({ offset: delta.offset, text: delta.text });
  if (stream.held.length > HELD_MAX) stream.held.shift();
  const before = stream.length;
  settle(delta.messageId, stream);
  if (stream.held.length > 0) state.deltas.held++;
  publishFeed();
  const element = state.elements.get(delta.messageId);
  if (shown && element && stream.length !== before) renderMessage(element, shown);
}

/** A gap stays open: read the message again (now that the page is subscribed), at most every REREAD_MS. */
function scheduleReread(generation, id, stream) {
  if (stream.rereading || stream.timer) return;
  const wait = Math.max(0, stream.rereadAt + REREAD_MS - Date.now());
  stream.timer = setTimeout(() => {
    stream.timer = 0;
    if (generation === state.generation && stream.held.length > 0) void reread(generation, id);
  }, wait);
}

async function reread(generation, id) {
  const stream = streamFor(id);
  if (stream.rereading) return;
  stream.rereading = true;
  stream.rereadAt = Date.now();
  state.deltas.rereads++;
  publishFeed();
  try {
    const message = await api('GET', `${conversationPath(state.conversationId)}/messages/${encodeURIComponent(id)}`);
    if (generation === state.generation) applyMessage(message, null);
  } catch (error) {
    if (generation === state.generation && !(error instanceof ApiError && error.status === 404)) showError(error);
  } finally {
    stream.rereading = false;
  }
  if (generation === state.generation && stream.held.length > 0) scheduleReread(generation, id, stream);
}

// --- messages ---

const byTime = (a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1);

/**
 * Shows a message (from a snapshot, a response or an event, which carries its seq). An older
 * version than the one shown is ignored, so the order in which they arrive does not matter.
 */
function applyMessage(message, seq) {
  if (message.conversationId !== state.conversationId) return;
  const shown = state.messages.get(message.id);
  if (shown && shown.version > message.version) return;
  state.messages.set(message.id, message);
  if (message.status === 'in_progress' && message.deletedAt === null) adoptStored(message);
  else {
    clearTimeout(state.streams.get(message.id)?.timer);
    state.streams.delete(message.id);
  }
  let element = state.elements.get(message.id);
  if (!element) {
    element = createMessageElement(message);
    state.elements.set(message.id, element);
    insertInOrder(element, message);
  }
  if (seq !== null) element.dataset.seq = String(seq);
  renderMessage(element, message);
}

function insertInOrder(element, message) {
  const list = $('#messages');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  const later = [...state.messages.values()]
    .filter((m) => m.id !== message.id && byTime(message, m) < 0)
    .sort(byTime)[0];
  list.insertBefore(element, later ? state.elements.get(later.id) : null);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function createMessageElement(message) {
  const element = $('#message-template').content.firstElementChild.cloneNode(true);
  element.dataset.messageId = message.id;
  element.dataset.authorId = message.authorId;
  // When this page first showed it (epoch ms), so that delivery can be timed across pages.
  element.dataset.shownAt = String(Date.now());
  const author = element.querySelector('.author');
  author.textContent = message.authorId;
  void displayName(message.authorId).then((name) => {
    author.textContent = name;
  });
  element.querySelector('time').dateTime = message.createdAt;
  element.querySelector('time').textContent = new Date(message.createdAt).toLocaleTimeString();
  if (message.authorId === state.me.id) {
    element.classList.add('mine');
    wireActions(element);
  }
  return element;
}

const partText = (part) => (part.type === 'text' ? part.text : `[${part.type}${part.name ? ` ${part.name}` : ''}]`);

/** The message's text as shown: for one being streamed, its parts with the streamed text so far. */
function textOf(message) {
  const stream = state.streams.get(message.id);
  if (!stream?.known) return message.content.map(partText).join('\n');
  const last = message.content.at(-1);
  const head = last?.type === 'text' ? message.content.slice(0, -1) : message.content;
  return [...head.map(partText), stream.text].join('\n');
}

/** What the status line of a message says: nothing for a completed one. */
function statusLabel(message) {
  if (message.status === 'in_progress') return 'streaming…';
  if (message.status === 'incomplete') return `incomplete: ${message.statusReason ?? 'no reason given'}`;
  return '';
}

function renderMessage(element, message) {
  const deleted = message.deletedAt !== null;
  element.dataset.version = String(message.version);
  element.dataset.deleted = String(deleted);
  element.dataset.edited = String(message.editedAt !== null);
  const streaming = !deleted && message.status === 'in_progress';
  element.dataset.status = message.status;
  element.dataset.statusReason = message.statusReason ?? '';
  element.classList.toggle('streaming', streaming);
  element.classList.toggle('incomplete', !deleted && message.status === 'incomplete');
  const text = element.querySelector('.text');
  text.textContent = deleted ? 'message deleted' : textOf(message);
  text.setAttribute('aria-busy', String(streaming));
  const label = element.querySelector('.stream-state');
  const said = deleted ? '' : statusLabel(message);
  // Only on a change: the element is a live region, and a repeated text would be announced again.
  if (label.textContent !== said) label.textContent = said;
  label.hidden = said === '';
  element.querySelector('.edited').hidden = deleted || message.editedAt === null;
  const actions = element.querySelector('.actions');
  actions.hidden = deleted || message.authorId !== state.me.id;
  // A message being streamed cannot be edited until it is finished (409 message_in_progress).
  element.querySelector('.edit').hidden = streaming;
  if (deleted) element.querySelector('.edit-form').hidden = true;
}

/** Edit and delete for the signed-in user's own messages. */
function wireActions(element) {
  const id = element.dataset.messageId;
  const form = element.querySelector('.edit-form');
  const input = form.elements.namedItem('text');
  const text = element.querySelector('.text');
  const close = () => {
    form.hidden = true;
    text.hidden = false;
  };
  element.querySelector('.edit').addEventListener('click', () => {
    input.value = text.textContent;
    form.hidden = false;
    text.hidden = true;
    input.focus();
  });
  element.querySelector('.cancel').addEventListener('click', close);
  form.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const message = state.messages.get(id);
    try {
      const edited = await api('PATCH', `${conversationPath(message.conversationId)}/messages/${id}`, {
        content: [{ type: 'text', text: input.value }],
        version: message.version,
      });
      applyMessage(edited, null);
      close();
    } catch (error) {
      showError(error);
    }
  });
  element.querySelector('.delete').addEventListener('click', async () => {
    const message = state.messages.get(id);
    try {
      await api('DELETE', `${conversationPath(message.conversationId)}/messages/${id}`);
    } catch (error) {
      showError(error);
    }
  });
}

// --- forms ---

function wireForms() {
  $('#signin-form').addEventListener('submit', (submit) => {
    submit.preventDefault();
    const token = submit.target.elements.namedItem('token').value.trim();
    location.hash = new URLSearchParams({ token }).toString();
  });

  $('#new-conversation').addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const form = submit.target;
    const title = form.elements.namedItem('title').value.trim();
    const participantIds = form.elements
      .namedItem('participants')
      .value.split(/[\s,]+/)
      .filter((id) => id !== '' && id !== state.me.id);
    try {
      const created = await api('POST', '/v1/conversations', {
        title,
        ...(participantIds.length > 0 ? { participantIds } : {}),
      });
      form.reset();
      await refreshSidebar();
      await openConversation(created.id);
    } catch (error) {
      showError(error);
    }
  });

  $('#composer').addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const form = submit.target;
    const input = form.elements.namedItem('text');
    const text = input.value;
    if (text.trim() === '' || state.conversationId === null) return;
    form.dataset.submittedAt = String(Date.now());
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const posted = await api('POST', `${conversationPath(state.conversationId)}/messages`, {
        role: 'user',
        clientMessageId: randomId(),
        content: [{ type: 'text', text }],
      });
      applyMessage(posted, null);
      input.value = '';
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
      input.focus();
    }
  });
}

// --- start ---

async function start() {
  wireForms();
  // Another identity: start over.
  window.addEventListener('hashchange', () => location.reload());
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) {
    $('#signin').hidden = false;
    return;
  }
  state.token = token;
  try {
    state.me = await api('GET', '/v1/users/me');
  } catch (error) {
    showError(error);
    $('#signin').hidden = false;
    return;
  }
  names.set(state.me.id, Promise.resolve(state.me.displayName));
  const me = $('#me');
  me.textContent = `${state.me.displayName} (${state.me.id})`;
  me.dataset.userId = state.me.id;
  $('#app').hidden = false;
  await refreshSidebar();
  void watchInbox();
}

// --- the inbox stream ---

const inbox = { cursor: '', retryMs: RETRY_MIN_MS };

/** Follows GET /v1/events with a fresh ticket per connection, from the last cursor it was given. */
async function watchInbox() {
  let ticket;
  try {
    ({ ticket } = await api('POST', '/v1/stream-tickets', { stream: 'inbox' }));
  } catch {
    return retryInbox();
  }
  const query = new URLSearchParams({ ticket, ...(inbox.cursor ? { after: inbox.cursor } : {}) });
  const source = new EventSource(`/v1/events?${query}`);
  const changed = (message) => {
    if (message.lastEventId) inbox.cursor = message.lastEventId;
    void refreshSidebar();
  };
  source.addEventListener('open', () => {
    inbox.retryMs = RETRY_MIN_MS;
  });
  // `ready` (a new stream: read the list once more, so nothing between the first read and the
  // stream's start is missed), then one event per change; `reset`: the list is re-read as well.
  for (const type of ['ready', 'conversation', 'removed', 'reset']) source.addEventListener(type, changed);
  // Reconnect ourselves with a new ticket (EventSource's own retry would reuse the spent one),
  // from the last event's cursor: re-reading from a little earlier is harmless.
  const resume = () => {
    source.close();
    retryInbox();
  };
  source.addEventListener('overflow', resume);
  source.addEventListener('error', resume);
}

function retryInbox() {
  const delay = inbox.retryMs;
  inbox.retryMs = Math.min(inbox.retryMs * 2, RETRY_MAX_MS);
  setTimeout(() => void watchInbox(), delay);
}

void start();
