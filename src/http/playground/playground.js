// The rubric rule playground: edit a rule file, see its diagnostics as you type (CheckRules),
// classify an article with it (ClassifyWithRules) and see why a rule fired or did not.
// Plain ES module, no dependencies; talks to the server's HTTP/JSON routes on the same origin.

const $ = (id) => document.getElementById(id);
const el = {
  rules: $('rules'), gutter: $('gutter'), diagnostics: $('diagnostics'), checkStatus: $('check-status'),
  title: $('title'), body: $('body'), classify: $('classify'), resultStatus: $('result-status'),
  results: $('results'), topics: $('topics'), rendered: $('rendered'), banner: $('banner'),
  explainRule: $('explain-rule'), explain: $('explain'), explanation: $('explanation'),
  token: $('token'), info: $('rule-set-info'), reset: $('reset-rules'),
};
const FIELDS = [['ARTICLE_FIELD_TITLE', 'Title'], ['ARTICLE_FIELD_BODY', 'Body']];
const TOKEN_KEY = 'rubric.playground.token';
let servedRules = '';

// ---- small helpers ---------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}
const num = (x) => Number(x ?? 0);
const fmt = (x) => String(Math.round(num(x) * 1000) / 1000);
const severityName = (s) => (s === 'DIAGNOSTIC_SEVERITY_WARNING' ? 'warning' : 'error');
const fieldName = (f) => (f === 'ARTICLE_FIELD_TITLE' ? 'title' : 'body');
const operatorName = (op) => String(op ?? 'QUERY_OPERATOR_UNSPECIFIED').replace('QUERY_OPERATOR_', '').replace('_', ' ');

// ---- API ---------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.violations = (body?.details || []).flatMap((d) => d.fieldViolations || []);
  }
}

async function api(method, path, body, signal) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = el.token.value.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { message: `cannot reach the server: ${e.message}` });
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : {}; } catch { json = null; }
  if (!response.ok) throw new ApiError(response.status, json ?? { message: `HTTP ${response.status}: ${text.slice(0, 300)}` });
  if (json === null) throw new ApiError(response.status, { message: 'the server did not answer JSON' });
  return json;
}

// Server messages quote options and values in `backticks`: show those as code.
function withCode(text) {
  return String(text ?? '').split('`').map((piece, i) => (i % 2 ? h('code', { text: piece }) : piece));
}

function showError(context, err) {
  el.banner.replaceChildren(...[
    h('p', {}, h('strong', { text: `${context}: ` }), ...withCode(err.message)),
    err.status === 401 ? h('p', { text: 'Enter the server’s token under “API token”.' }) : null,
    err.violations?.length ? h('ul', {}, err.violations.map((v) => h('li', {}, h('code', { text: v.field || '(request)' }), ': ', ...withCode(v.description)))) : null,
    h('button', { type: 'button', class: 'secondary', text: 'Dismiss', onclick: clearError }),
  ].filter(Boolean));
  el.banner.hidden = false;
}
function clearError() { el.banner.hidden = true; el.banner.replaceChildren(); }

// ---- the editor: gutter, diagnostics, checking as you type -----------------------------------

let lineMarks = new Map(); // line -> 'error' | 'warning'

let gutterKey = '';
function renderGutter() {
  const lines = el.rules.value.split('\n').length;
  const key = `${lines}|${[...lineMarks].join(',')}`;
  if (key === gutterKey) return;
  gutterKey = key;
  const frag = document.createDocumentFragment();
  for (let i = 1; i <= lines; i++) {
    const mark = lineMarks.get(i);
    frag.append(h('div', { class: mark ? `ln ${mark}` : 'ln', text: mark ? `${mark === 'error' ? '✖' : '▲'} ${i}` : String(i) }));
  }
  el.gutter.replaceChildren(frag);
  el.gutter.scrollTop = el.rules.scrollTop;
}

// The UTF-16 index of a 1-based line and code point column of the editor's text.
function indexOf(line, column) {
  const lines = el.rules.value.split('\n');
  let index = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) index += lines[i].length + 1;
  const text = lines[line - 1] ?? '';
  return index + Array.from(text).slice(0, Math.max(column - 1, 0)).join('').length;
}

function jumpTo(line, column) {
  const at = indexOf(line, column);
  el.rules.focus();
  el.rules.setSelectionRange(at, at);
  const lineHeight = parseFloat(getComputedStyle(el.rules).lineHeight) || 20;
  el.rules.scrollTop = Math.max(0, (line - 1) * lineHeight - el.rules.clientHeight / 3);
}

function renderDiagnostics(result) {
  const diags = result.diagnostics || [];
  lineMarks = new Map();
  for (const d of diags) {
    const line = num(d.line);
    if (line && (d.file || 'rules') === 'rules' && lineMarks.get(line) !== 'error') lineMarks.set(line, severityName(d.severity));
  }
  renderGutter();
  el.diagnostics.replaceChildren(...diags.map((d) => {
    const sev = severityName(d.severity);
    const line = num(d.line), column = num(d.column);
    const file = d.file && d.file !== 'rules' ? `${d.file}, ` : '';
    const where = line ? `${file}line ${line}, column ${column}` : (file ? d.file : 'rule file');
    return h('li', { class: `diag ${sev}`, 'data-line': line, 'data-column': column, 'data-severity': sev, 'data-code': d.code || '' },
      line && !file ? h('button', { type: 'button', class: 'link', text: where, onclick: () => jumpTo(line, column) }) : h('span', { text: where }),
      ': ', h('strong', { class: sev, text: `${sev}[${d.code || '?'}]` }), `: ${d.message || ''}`,
      d.ruleId ? h('span', { class: 'muted', text: ` (rule ${d.ruleId})` }) : null,
      d.help ? h('div', { class: 'help' }, h('span', { text: 'help: ' }), d.help) : null,
      d.rendered ? h('details', {}, h('summary', { text: 'as rubric check prints it' }), h('pre', { text: d.rendered })) : null);
  }));
  const errors = diags.filter((d) => severityName(d.severity) === 'error').length;
  const warnings = diags.length - errors;
  const counts = `${num(result.ruleCount)} rules, ${num(result.topicCount)} topics`;
  el.checkStatus.textContent = result.valid
    ? `Valid: ${counts}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}.`
    : `${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}: the rules would not load.`;
  el.diagnostics.dataset.valid = String(Boolean(result.valid));
}

let checkTimer = 0, checkAbort = null;
function scheduleCheck(delay = 300) {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, delay);
}
async function check() {
  checkAbort?.abort();
  const abort = (checkAbort = new AbortController());
  el.diagnostics.dataset.state = 'checking';
  try {
    const result = await api('POST', '/v1/rules:check', { rules: el.rules.value }, abort.signal);
    if (abort !== checkAbort) return;
    renderDiagnostics(result);
    el.diagnostics.dataset.state = 'done';
  } catch (e) {
    if (e.name === 'AbortError') return;
    el.diagnostics.dataset.state = 'failed';
    el.checkStatus.textContent = 'The rules could not be checked.';
    showError('Checking the rules failed', e);
  }
}

// Rule ids of the edited file: `id = "..."` inside [[rules]] tables (a simple scan, not TOML).
function ruleIds() {
  const ids = [];
  let table = '';
  for (const line of el.rules.value.split('\n')) {
    const header = line.match(/^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?/);
    if (header) { table = header[1]; continue; }
    const id = table === 'rules' && line.match(/^\s*id\s*=\s*(?:"([^"]*)"|'([^']*)')/);
    if (id) ids.push(id[1] ?? id[2]);
  }
  return ids;
}

// After a classification: the rules whose query held (`fired`, from the explanations of every
// candidate rule), and those of them that counted toward their topic (`counted`, the evidence).
// A rule can fire without counting when an overlapping rule of its topic got the credit.
let fired = new Set(), counted = new Set(), classified = false;
function firedLabel(id) {
  if (!fired.has(id)) return '(did not fire)';
  return counted.has(id) ? '(fired)' : '(fired, not counted: an overlapping rule got the credit)';
}
function refreshRuleChoices() {
  const current = el.explainRule.value;
  const ids = ruleIds();
  el.explainRule.replaceChildren(
    h('option', { value: '', text: ids.length ? '— choose a rule —' : '— no rules —' }),
    ...ids.map((id) => h('option', { value: id, 'data-fired': classified ? String(fired.has(id)) : null,
      'data-counted': classified ? String(counted.has(id)) : null,
      text: classified ? `${id} ${firedLabel(id)}` : id })));
  if (ids.includes(current)) el.explainRule.value = current;
}

el.rules.addEventListener('input', () => { renderGutter(); scheduleCheck(); refreshRuleChoices(); });
el.rules.addEventListener('scroll', () => { el.gutter.scrollTop = el.rules.scrollTop; });

// ---- classifying ---------------------------------------------------------------------------------

let runs = 0;
async function classify() {
  const rule = el.explainRule.value;
  const request = {
    rules: el.rules.value,
    article: { title: el.title.value, body: el.body.value },
    // The candidates' explanations say which rules fired, also those that did not count.
    options: { offsetEncoding: 'OFFSET_ENCODING_UTF16', explainRules: rule ? [rule] : [], explainCandidates: true },
  };
  const fields = { ARTICLE_FIELD_TITLE: request.article.title, ARTICLE_FIELD_BODY: request.article.body };
  el.classify.disabled = el.explain.disabled = true;
  el.resultStatus.textContent = 'Classifying…';
  try {
    const response = await api('POST', '/v1/articles:classifyWithRules', request);
    clearError();
    renderResult(response.classification || {}, fields, rule);
  } catch (e) {
    el.resultStatus.textContent = 'Classification failed.';
    showError('Classifying failed', e);
  } finally {
    el.classify.disabled = el.explain.disabled = false;
    el.results.dataset.runs = String(++runs);
  }
}

function renderResult(c, fields, explained) {
  const topics = c.topics || [];
  counted = new Set(topics.flatMap((t) => (t.evidence || []).map((e) => e.ruleId)));
  fired = new Set([...counted, ...(c.explanations || []).filter((x) => x.fired).map((x) => x.ruleId)]);
  classified = true;
  refreshRuleChoices();
  const labelled = topics.filter((t) => t.label).map((t) => t.topic);
  el.resultStatus.textContent = `Classified with rule set version ${c.ruleSetVersion || '(none)'}: ` +
    (labelled.length ? `labelled ${labelled.join(', ')}.` : 'no topic labelled.') +
    ` ${fired.size} rule${fired.size === 1 ? '' : 's'} fired, ${counted.size} counted.`;
  el.topics.replaceChildren(...topics.map(renderTopic));
  if (!topics.length) el.topics.append(h('p', { class: 'muted', text: 'No topics.' }));
  el.rendered.replaceChildren(...FIELDS.map(([field, label]) =>
    h('div', { class: 'field-view' }, h('h4', { text: label }),
      h('div', { class: 'field-text', 'data-field': field }, highlight(fields[field], spansOf(topics, field), field)))));
  el.results.hidden = false;
  if (!counted.has(activeRule)) activeRule = null;
  applyEmphasis();
  renderExplanations(c.explanations || [], explained);
}

function renderTopic(t) {
  const confidence = num(t.confidence);
  return h('section', { class: `topic ${t.label ? 'labelled' : ''}`, 'data-topic': t.topic, 'data-label': String(Boolean(t.label)) },
    h('h3', {}, t.topic, ' ', h('span', { class: t.label ? 'badge yes' : 'badge no', text: t.label ? 'labelled' : 'not labelled' })),
    h('p', {}, `score ${fmt(t.score)} · confidence ${Math.round(confidence * 100)}% `,
      h('meter', { min: 0, max: 1, value: confidence, 'aria-label': `confidence of ${t.topic}` })),
    (t.evidence || []).length
      ? h('ul', { class: 'evidence', 'aria-label': `rules that fired for ${t.topic}` }, t.evidence.map((e) => h('li', {},
        h('button', { type: 'button', class: 'rule', 'data-rule': e.ruleId, 'aria-pressed': 'false', text: e.ruleId, onclick: () => emphasize(e.ruleId) }),
        h('span', { class: 'muted', text: ` weight ${fmt(e.weight)}, ${(e.spans || []).length} match${(e.spans || []).length === 1 ? '' : 'es'}` }))))
      : h('p', { class: 'muted', text: 'No rule fired.' }));
}

function spansOf(topics, field) {
  const spans = [];
  for (const t of topics) for (const e of t.evidence || []) for (const s of e.spans || []) {
    if (s.field === field) spans.push({ start: num(s.start), end: num(s.end), rule: e.ruleId, topic: t.topic, list: s.list, entry: s.listEntry });
  }
  return spans;
}

// The text with the spans as <mark>s. Overlapping spans are split at every span boundary, so each
// piece is covered by a fixed set of rules; each <mark> is one piece, its text exactly
// text.slice(data-start, data-end) (UTF-16 offsets, the unit the request asked for).
function highlight(text, spans, field) {
  const cuts = new Set([0, text.length]);
  for (const s of spans) { cuts.add(Math.min(s.start, text.length)); cuts.add(Math.min(s.end, text.length)); }
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const piece = text.slice(a, b);
    const over = spans.filter((s) => s.start <= a && b <= s.end);
    if (!over.length) { out.push(piece); continue; }
    const rules = [...new Set(over.map((s) => s.rule))];
    const tip = over.map((s) => `${s.rule} (${s.topic})${s.list ? ` via @${s.list}: ${s.entry}` : ''}`);
    out.push(h('mark', { class: rules.length > 1 ? 'multi' : null, 'data-field': field, 'data-start': a, 'data-end': b,
      'data-rule': rules.join(' '), title: [...new Set(tip)].join('\n'), text: piece }));
  }
  return out;
}

let activeRule = null;
function emphasize(rule) {
  activeRule = activeRule === rule ? null : rule;
  applyEmphasis();
  const count = el.rendered.querySelectorAll('mark.emph').length;
  el.resultStatus.textContent = activeRule ? `${activeRule}: ${count} highlighted piece${count === 1 ? '' : 's'}.` : 'No rule emphasized.';
}
function applyEmphasis() {
  el.rendered.classList.toggle('focus', Boolean(activeRule));
  for (const m of el.rendered.querySelectorAll('mark')) m.classList.toggle('emph', Boolean(activeRule) && m.dataset.rule.split(' ').includes(activeRule));
  for (const b of el.topics.querySelectorAll('button.rule')) b.setAttribute('aria-pressed', String(b.dataset.rule === activeRule));
}

// ---- explanations ----------------------------------------------------------------------------------

function renderExplanations(explanations, rule) {
  if (!rule) { el.explanation.replaceChildren(); return; }
  el.explanation.replaceChildren(...explanations.filter((x) => x.ruleId === rule).map((x) => h('article', { class: 'rule-explanation', 'data-rule': x.ruleId, 'data-fired': String(Boolean(x.fired)) },
    h('h3', {}, h('span', { class: x.fired ? 'yes' : 'no', text: x.fired ? '✓ ' : '✗ ' }), `${x.ruleId} (${x.topic}) ${x.fired ? 'fired' : 'did not fire'}`),
    x.summary ? h('p', { class: 'summary', text: x.summary }) : null,
    x.query ? h('ul', { class: 'tree' }, renderNode(x.query)) : null)));
  if (!explanations.length) el.explanation.append(h('p', { class: 'muted', text: `No explanation came back for ${rule}.` }));
}

function renderNode(n) {
  const ok = Boolean(n.satisfied);
  return h('li', { class: 'node', 'data-operator': operatorName(n.operator), 'data-satisfied': String(ok) },
    h('span', { class: ok ? 'verdict yes' : 'verdict no', 'aria-label': ok ? 'satisfied' : 'not satisfied', text: ok ? '✓' : '✗' }), ' ',
    h('span', { class: 'op', text: operatorName(n.operator) }), ' ', h('code', { text: n.query || '' }),
    n.reason ? h('span', { class: 'reason', text: ` — ${n.reason}` }) : null,
    (n.spans || []).length ? h('ul', { class: 'spans' }, n.spans.map((s) => h('li', {},
      h('code', { text: `${fieldName(s.field)}[${num(s.start)},${num(s.end)})` }), ` “${s.text || ''}”`,
      s.list ? h('span', { class: 'muted', text: ` @${s.list}: ${s.listEntry || ''}` }) : null))) : null,
    (n.operands || []).length ? h('ul', { class: 'tree' }, n.operands.map(renderNode)) : null);
}

// ---- start-up ----------------------------------------------------------------------------------------

async function loadRules() {
  try {
    const { ruleSet = {} } = await api('GET', '/v1/ruleSet?view=RULE_SET_VIEW_FULL');
    clearError();
    servedRules = ruleSet.text || '';
    el.info.textContent = `Served rule set: ${ruleSet.name || '(unnamed)'} ${ruleSet.version || ''} from ${ruleSet.source || '?'}, ` +
      `${num(ruleSet.ruleCount)} rules, ${num(ruleSet.topicCount)} topics.`;
    if (!el.rules.value) setRules(servedRules);
    document.body.dataset.rules = 'loaded';
  } catch (e) {
    el.info.textContent = 'The served rules could not be loaded.';
    showError('Loading the served rules failed', e);
  }
}

function setRules(text) {
  el.rules.value = text;
  el.rules.scrollTop = 0;
  renderGutter();
  refreshRuleChoices();
  scheduleCheck(0);
}

el.token.value = sessionStorage.getItem(TOKEN_KEY) || '';
el.token.addEventListener('change', () => {
  sessionStorage.setItem(TOKEN_KEY, el.token.value.trim());
  if (!servedRules) loadRules(); else scheduleCheck(0);
});
el.reset.addEventListener('click', () => setRules(servedRules));
el.classify.addEventListener('click', classify);
el.explain.addEventListener('click', () => {
  if (!el.explainRule.value) { el.explanation.replaceChildren(h('p', { class: 'muted', text: 'Choose a rule first.' })); return; }
  classify();
});
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); classify(); }
});
renderGutter();
refreshRuleChoices();
loadRules();
