// One kanban column, rendered in the browser from its props: a board of 350 cards is
// 7 NiceGUI elements instead of ~3,500, which is what keeps the board fast.
// All text goes through {{ }} / attribute bindings, so user content is never HTML.
export default {
  template: `
    <div class="kb-col" :class="{ 'kb-over': over }" :style="{ borderTopColor: color }"
         :data-testid="'kanban-column-' + value" :aria-label="label" role="list"
         @dragover="onDragover" @dragleave="onDragleave" @drop="onDrop">
      <div class="kb-head">
        <span class="kb-label">{{ label }}</span>
        <span class="kb-count" :data-testid="'kanban-count-' + value">{{ countText }}</span>
        <span class="kb-spacer"></span>
        <span v-if="showSum" class="kb-sum" :title="sumTitle"
              :data-testid="'kanban-sum-' + value">{{ sumText }}</span>
      </div>
      <div class="kb-body">
        <div v-for="card in cards" :key="card.id" class="kb-card kanban-card" role="listitem"
             :class="{ 'kb-dragging': dragging === card.id }" :draggable="draggable"
             :data-testid="'kanban-card-' + card.id" :data-card-id="card.id"
             @dragstart="onDragstart($event, card)" @dragend="dragging = null">
          <div class="kb-top">
            <a class="kb-title" :href="card.href" draggable="false">{{ card.title }}</a>
            <span v-if="card.owner" class="kb-owner kanban-owner"
                  :title="card.ownerName">{{ card.owner }}</span>
          </div>
          <div v-if="card.subtitle" class="kb-sub" :title="card.subtitle">{{ card.subtitle }}</div>
          <div class="kb-foot">
            <span class="kb-amount">{{ card.amount }}</span>
            <span class="kb-spacer"></span>
            <span class="kb-date">{{ card.date }}</span>
          </div>
        </div>
        <div v-if="more" class="kb-note">{{ more }}</div>
        <div v-if="!cards.length && !more" class="kb-note">{{ emptyText }}</div>
      </div>
    </div>`,
  props: {
    value: String,
    label: String,
    color: String,
    countText: String,
    sumText: String,
    sumTitle: String,
    showSum: Boolean,
    cards: { type: Array, default: () => [] },
    more: String,
    emptyText: String,
    draggable: Boolean,
  },
  data() {
    return { over: false, dragging: null };
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
  },
};
