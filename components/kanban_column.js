// One kanban column, rendered in the browser from its props: a board of 350 cards is
// 7 NiceGUI elements instead of ~3,500, which is what keeps the board fast.
// All text goes through {{ }} / attribute bindings, so user content is never HTML.
//
// First paint: a column mounts with the cards a screen shows (FIRST_CARDS) and renders
// the rest right after the browser painted them, a column per frame (`aria-busy` is
// true until then); the 350 cards of a board were ~60 % of its mount, layout and paint.
// v-memo: NiceGUI renders every element below a layout change again with fresh handler
// closures (QLayout measures its header right after mounting); with the same props and
// state the column and its cards are not rendered again.
//
// Keyboard and screen readers: every card has a "Move to…" button whose menu lists the
// other stages (arrows, Home/End, Enter, Escape). Choosing one emits `move_to` with
// [card id, stage]; the server saves it exactly like a drop (same trigger, same dialog
// when the stage needs more, same announcement) and puts focus back on the card.
const FIRST_CARDS = 15;

// The columns' remaining cards, one column per frame after the first paint: one task of
// ~250 cards kept the page from answering input (or a test's check) for its length.
const later = [];
function renderLater(show) {
  later.push(show);
  if (later.length === 1) requestAnimationFrame(() => setTimeout(renderNext));
}
function renderNext() {
  later.shift()();
  if (later.length) requestAnimationFrame(() => setTimeout(renderNext));
}

export default {
  template: `
    <section class="kb-col" :class="{ 'kb-over': over }" :style="{ borderTopColor: color }"
             v-memo="[value, label, color, countText, sumText, sumTitle, showSum, cards, stages,
                      more, emptyText, draggable, over, dragging, menuFor, pending]"
             :data-testid="'kanban-column-' + value" :aria-labelledby="headId"
             :aria-busy="pending ? 'true' : 'false'"
             @dragover="onDragover" @dragleave="onDragleave" @drop="onDrop">
      <h2 class="kb-head" :id="headId">
        <span class="kb-label">{{ label }}</span>
        <span class="sr-only">, </span>
        <span class="kb-count" :data-testid="'kanban-count-' + value">{{ countText }}</span>
        <span class="sr-only"> {{ countText === '1' ? 'card' : 'cards' }}</span>
        <span class="kb-spacer"></span>
        <span v-if="showSum" class="sr-only">, total {{ sumTitle }}</span>
        <span v-if="showSum" class="kb-sum" :title="sumTitle" aria-hidden="true"
              :data-testid="'kanban-sum-' + value">{{ sumText }}</span>
      </h2>
      <div class="kb-body" role="list" :aria-label="label">
        <div v-for="card in shownCards" :key="card.id" class="kb-card kanban-card" role="listitem"
             :class="{ 'kb-dragging': dragging === card.id }" :draggable="draggable"
             :data-testid="'kanban-card-' + card.id" :data-card-id="card.id"
             @dragstart="onDragstart($event, card)" @dragend="dragging = null">
          <div class="kb-top">
            <a class="kb-title" :href="card.href" draggable="false">{{ card.title }}</a>
            <span v-if="card.owner" class="kb-owner kanban-owner" aria-hidden="true"
                  :title="card.ownerName">{{ card.owner }}</span>
            <span v-if="card.owner" class="sr-only">Owner {{ card.ownerName }}</span>
            <button v-if="draggable && stages.length > 1" type="button" class="kb-move"
                    :aria-label="'Move ' + card.title + ' to another stage'"
                    aria-haspopup="menu" :aria-expanded="menuFor === card.id ? 'true' : 'false'"
                    :data-testid="'kanban-move-' + card.id"
                    @click="toggleMenu(card)" @keydown.down.prevent="openMenu(card)">
              <i class="q-icon notranslate material-icons" aria-hidden="true">more_horiz</i>
            </button>
          </div>
          <div v-if="card.subtitle" class="kb-sub" :title="card.subtitle">{{ card.subtitle }}</div>
          <div class="kb-foot">
            <span class="kb-amount">{{ card.amount }}</span>
            <span class="kb-spacer"></span>
            <span class="kb-date">{{ card.date }}</span>
          </div>
          <div v-if="menuFor === card.id" class="kb-menu" role="menu"
               :aria-label="'Move ' + card.title + ' to'" data-testid="kanban-move-menu"
               @keydown="onMenuKey($event, card)" @focusout="onMenuFocusout($event)">
            <div class="kb-menu-title" aria-hidden="true">Move to…</div>
            <button v-for="stage in otherStages" :key="stage.value" type="button"
                    role="menuitem" tabindex="-1" class="kb-menu-item" @mousedown.prevent
                    :data-testid="'kanban-move-to-' + stage.value"
                    @click="choose(card, stage.value)">{{ stage.label }}</button>
          </div>
        </div>
        <div v-if="more && !pending" class="kb-note" role="listitem">{{ more }}</div>
        <div v-if="!cards.length && !more" class="kb-note">{{ emptyText }}</div>
      </div>
    </section>`,
  // Declared, so a listener is not a prop: a new handler closure from NiceGUI is no
  // reason to render the column again.
  emits: ["move", "move_to"],
  props: {
    value: String,
    label: String,
    color: String,
    countText: String,
    sumText: String,
    sumTitle: String,
    showSum: Boolean,
    cards: { type: Array, default: () => [] },
    stages: { type: Array, default: () => [] },
    more: String,
    emptyText: String,
    draggable: Boolean,
  },
  data() {
    return { over: false, dragging: null, menuFor: null,
             pending: this.cards.length > FIRST_CARDS };
  },
  mounted() {
    // After the frame with the first cards is painted (a timeout from the frame's
    // callback runs after it), not before: the rest never delays the first paint.
    if (this.pending) renderLater(() => { this.pending = false; });
  },
  computed: {
    headId() {
      return "kb-head-" + this.value;
    },
    shownCards() {
      return this.pending ? this.cards.slice(0, FIRST_CARDS) : this.cards;
    },
    otherStages() {
      return this.stages.filter((s) => s.value !== this.value);
    },
  },
  methods: {
    onDragstart(e, card) {
      e.dataTransfer.setData("text/plain", card.id);
      e.dataTransfer.effectAllowed = "move";
      this.dragging = card.id;
    },
    onDragover(e) {
      if (!this.draggable) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      this.over = true;
    },
    onDragleave(e) {
      if (!this.$el.contains(e.relatedTarget)) this.over = false;
    },
    onDrop(e) {
      e.preventDefault();
      this.over = false;
      const id = e.dataTransfer.getData("text/plain");
      if (id) this.$emit("move", id);
    },
    // -- the "Move to…" menu ----------------------------------------------------------
    items() {
      return Array.from(this.$el.querySelectorAll(".kb-menu [role=menuitem]"));
    },
    trigger(cardId) {
      return this.$el.querySelector(`[data-card-id="${cardId}"] .kb-move`);
    },
    toggleMenu(card) {
      if (this.menuFor === card.id) this.closeMenu(true);
      else this.openMenu(card);
    },
    openMenu(card) {
      this.menuFor = card.id;
      this.$nextTick(() => this.items()[0]?.focus());
    },
    closeMenu(refocus) {
      const id = this.menuFor;
      this.menuFor = null;
      if (refocus && id) this.$nextTick(() => this.trigger(id)?.focus());
    },
    onMenuKey(e, card) {
      const items = this.items();
      const at = items.indexOf(document.activeElement);
      const go = (i) => items[(i + items.length) % items.length]?.focus();
      if (e.key === "ArrowDown") go(at + 1);
      else if (e.key === "ArrowUp") go(at - 1);
      else if (e.key === "Home") go(0);
      else if (e.key === "End") go(items.length - 1);
      else if (e.key === "Escape") this.closeMenu(true);
      else if (e.key === "Tab") { this.closeMenu(false); return; }
      else return;
      e.preventDefault();
      e.stopPropagation();
    },
    onMenuFocusout(e) {
      if (!e.currentTarget.contains(e.relatedTarget)) this.menuFor = null;
    },
    choose(card, stage) {
      this.closeMenu(true);
      this.$emit("move_to", [card.id, stage]);
    },
  },
};
