// The list grid: Quasar's QTable with its cell, header and selection slots written here,
// in this component's own template, instead of as NiceGUI slot templates.
//
// NiceGUI renders a Python `add_slot(name, template)` by creating a new component
// definition for every slot call: each of the 50 × 7 cells of a page was its own Vue
// component instance (setup, reactive props, a q-td component inside), and since the
// definition object is new on every render, any update of the table unmounted and
// remounted every cell. Here a cell is a plain <td> produced by a compiled slot
// function — the same markup (QTd's classes and style), a fraction of the work.
//
// v-memo: see memoKey below.
// The no-op `update:pagination` listener keeps QTable reading `pagination` from the prop
// (it ignores later prop values when nobody listens); the server sets it, nothing is sent.
// All text goes through {{ }} / attribute bindings, never HTML.
export default {
  template: `
    <q-table ref="qRef" v-bind="$attrs" :columns="columns" @update:pagination="() => {}"
             v-memo="memoKey()">
      <template #header-cell="props">
        <q-th :props="props" :tabindex="props.col.sortable ? 0 : undefined"
              :aria-sort="props.col.sortable ? (props.col.ariaSort || 'none') : undefined"
              @keydown.enter.prevent="props.col.sortable && props.sort(props.col)"
              @keydown.space.prevent="props.col.sortable && props.sort(props.col)"
              >{{ props.col.label }}</q-th>
      </template>
      <template #header-selection="props">
        <q-checkbox v-model="props.selected" :dense="props.dense" :color="props.color"
                    aria-label="Select all rows on this page" />
      </template>
      <template #body-selection="props">
        <q-checkbox v-model="props.selected" :dense="props.dense" :color="props.color"
                    :aria-label="'Select ' + (props.row._name || 'this record')" />
      </template>
      <template #body-cell="props">
        <td :class="'q-td ' + props.col.__tdClass(props.row)" :style="props.col.__tdStyle(props.row)">
          <a v-if="props.row['_h_' + props.col.name]" :href="props.row['_h_' + props.col.name]"
             class="no-underline hover:underline"
             :class="props.col.primary ? 'font-medium text-indigo-700 dark:text-indigo-300'
                                       : 'text-slate-700 dark:text-slate-200'"
             @click.stop>{{ props.value }}</a>
          <span v-else-if="props.col.chip && props.value"
                :class="props.row['_c_' + props.col.name]">{{ props.value }}</span>
          <span v-else-if="props.value && props.value.length > 40" class="block truncate max-w-80"
                :title="props.value">{{ props.value }}</span>
          <template v-else>{{ props.value }}</template>
        </td>
      </template>
    </q-table>
  `,
  inheritAttrs: false,
  props: {
    columns: Array,
  },
  methods: {
    // What the grid shows: the element's props and classes, never its event handlers.
    // NiceGUI re-renders every element below a layout change with fresh handler
    // closures (QLayout measures its header right after mounting, so that happens once
    // on every page load); with the same data the grid's 50 rows are not rendered again.
    // A server update replaces the element's props, and so re-renders it.
    memoKey() {
      const data = Object.entries(this.$attrs).filter(([key]) => !/^on[A-Z]/.test(key));
      return [this.columns, ...data.flat()];
    },
  },
};
